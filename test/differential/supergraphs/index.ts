/** Every supergraph of the differential corpus. */
import type { SupergraphDef } from '../harness.ts';
import { benchmark } from './benchmark.ts';

export const SUPERGRAPHS: SupergraphDef[] = [benchmark];
