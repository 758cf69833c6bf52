/** Every supergraph of the differential corpus. */
import type { SupergraphDef } from '../harness.ts';
import { abstract } from './abstract.ts';
import { benchmark } from './benchmark.ts';
import { entities } from './entities.ts';
import { faults } from './faults.ts';
import { nulls } from './nulls.ts';

export const SUPERGRAPHS: SupergraphDef[] = [benchmark, abstract, entities, nulls, faults];
