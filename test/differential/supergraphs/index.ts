/** Every supergraph of the differential corpus. */
import type { SupergraphDef } from '../harness.ts';
import { abstract } from './abstract.ts';
import { benchmark } from './benchmark.ts';
import { defects } from './defects.ts';
import { entities } from './entities.ts';
import { example } from './example.ts';
import { faults } from './faults.ts';
import { nulls } from './nulls.ts';

export const SUPERGRAPHS: SupergraphDef[] = [example, benchmark, abstract, entities, nulls, faults, defects];
