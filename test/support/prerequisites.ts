/**
 * What the tests need from the machine besides npm packages, each checked in one cheap step so that a
 * missing one fails at once with one line naming the Debian package, never with a hang or a page of
 * compiler output. `test/run.ts` checks them all before any test starts; the support modules
 * that use them check again, for a test file run on its own.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface Prerequisite {
  /** What it is for, in a few words. */
  purpose: string;
  /** The Debian package that provides it. */
  debianPackage: string;
  /** Where it is looked for. */
  path: () => string | undefined;
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function exists(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK);
    return path;
  } catch {
    return undefined;
  }
}

/** Debian's Chromium, or CHROMIUM_PATH. Never a downloaded browser. */
export const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const prerequisites = {
  chromium: { purpose: 'the browser test', debianPackage: 'chromium', path: () => (isExecutable(chromiumPath) ? chromiumPath : undefined) },
  gcc: { purpose: 'building the Kafka mock broker', debianPackage: 'gcc', path: () => onPath('gcc') },
  librdkafka: {
    purpose: 'the Kafka mock broker',
    debianPackage: 'librdkafka-dev',
    path: () => exists('/usr/include/librdkafka/rdkafka_mock.h'),
  },
} satisfies Record<string, Prerequisite>;

export type PrerequisiteName = keyof typeof prerequisites;

/** The one-line message for a missing prerequisite, or undefined when it is there. */
export function missing(name: PrerequisiteName): string | undefined {
  const p = prerequisites[name];
  return p.path()
    ? undefined
    : `missing prerequisite for ${p.purpose}: install Debian's ${p.debianPackage} (apt-get install -y ${p.debianPackage})`;
}

/** Throws the one-line message when any of `names` is missing. */
export function requirePrerequisites(...names: PrerequisiteName[]): void {
  const problems = names.map(missing).filter((m): m is string => m !== undefined);
  if (problems.length > 0) throw new Error(problems.join('; '));
}
