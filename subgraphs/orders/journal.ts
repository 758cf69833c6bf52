/** The journal of applied order events: the kit's (kit/projection/journal.ts) over orders. */
import type { OrderEvent } from '../../services/events/orders.ts';
import {
  EventJournal as KitJournal,
  type JournalEntry as KitJournalEntry,
  type JournalOptions,
  type JournalState as KitJournalState,
} from '../kit/projection/journal.ts';
import type { Order } from './projection.ts';

export type JournalEntry = KitJournalEntry<Order, OrderEvent>;
export type JournalState = KitJournalState<JournalEntry>;

export class EventJournal extends KitJournal<Order, OrderEvent> {
  constructor(options: JournalOptions) {
    super({ name: 'orders', ...options });
  }
}
