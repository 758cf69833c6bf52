/** Every supergraph of the differential corpus. */
import type { SupergraphDef } from '../harness.ts';
import { abstract } from './abstract.ts';
import { benchmark } from './benchmark.ts';
import { entities } from './entities.ts';

export const SUPERGRAPHS: SupergraphDef[] = [benchmark, abstract, entities];
