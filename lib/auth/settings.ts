/** Settings of the signed identity header that the gateway and every subgraph share. */
import { z } from 'zod';
import { setting } from '../config.ts';
import { DEFAULT_MAX_AGE_MS, MIN_SECRET_LENGTH } from './signed-identity.ts';

/** IDENTITY_SECRET: required, and the same for the gateway and every subgraph. */
export const identitySecret = z
  .string({ message: `required: a random secret of at least ${MIN_SECRET_LENGTH} characters, the same for the gateway and every subgraph` })
  .min(MIN_SECRET_LENGTH, { message: `must be at least ${MIN_SECRET_LENGTH} characters` });

/** IDENTITY_MAX_AGE_MS: how old a signed identity a subgraph still accepts. */
export const identityMaxAge = setting.millis(DEFAULT_MAX_AGE_MS);
