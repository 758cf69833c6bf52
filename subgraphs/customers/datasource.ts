/**
 * The customers REST service (schema/openapi/customers.yaml) as seen by the subgraph: one batched
 * read per request tick (`GET /customers?ids=...`, up to 100 ids a call) and the paged list.
 */
import DataLoader from 'dataloader';
import { alignById } from '../kit/arguments.ts';
import { RestClient, type RestClientOptions } from '../kit/rest.ts';

/** A customer as the REST contract defines it. */
export interface RestCustomer {
  id: string;
  name: string;
  email: string;
  tier: 'standard' | 'gold' | 'platinum';
  favoriteProductIds: string[];
}

interface CustomerPage {
  items: RestCustomer[];
  nextCursor?: string;
}

/** The REST batch read takes at most this many ids. */
const MAX_IDS_PER_CALL = 100;

export class CustomersSource {
  readonly client: RestClient;

  constructor(options: RestClientOptions) {
    this.client = new RestClient(options);
  }

  /** A per-request loader: every `load` in one tick becomes one batch call. */
  createLoader(): DataLoader<string, RestCustomer | null> {
    return new DataLoader(
      async (ids) => {
        // An id the batch read cannot carry (empty, or with a comma) names no customer.
        const valid = ids.filter((id) => id !== '' && !id.includes(','));
        const page = valid.length > 0 ? await this.client.getJson<CustomerPage>('/customers', { ids: valid.join(',') }) : null;
        return alignById(ids, page?.items ?? []);
      },
      { maxBatchSize: MAX_IDS_PER_CALL },
    );
  }

  /** The first `limit` customers in id order: one list call. */
  async list(limit: number): Promise<RestCustomer[]> {
    const page = await this.client.getJson<CustomerPage>('/customers', { limit });
    return page.items;
  }
}
