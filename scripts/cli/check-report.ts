/**
 * What `interchange check` prints: for a person, one line per change grouped by severity, with the
 * served operations each breaking or dangerous change touches under it; or, with `--json`, the
 * same as one JSON document.
 */
import type { ServedOperation } from '../../gateway/src/usage/record.ts';
import type { SchemaChange, Severity } from './schema-changes.ts';

export interface CheckedChange extends SchemaChange {
  /** The served operations it touches; undefined when there is no usage record or it cannot say. */
  operations?: ServedOperation[] | undefined;
}

export interface CheckReport {
  /** What the registry's supergraph was compared with. */
  against: string;
  /** Operations in the usage record; null without one. */
  servedOperations: number | null;
  changes: CheckedChange[];
  allowBreaking: boolean;
}

/** Operations named under one change; the rest are counted. */
const LISTED_OPERATIONS = 10;

const counts = (changes: readonly CheckedChange[]) => ({
  breaking: changes.filter((c) => c.severity === 'breaking').length,
  dangerous: changes.filter((c) => c.severity === 'dangerous').length,
  safe: changes.filter((c) => c.severity === 'safe').length,
});

/** Whether the check passes: no breaking change, or breaking changes allowed. */
export const passes = (report: CheckReport) => report.allowBreaking || counts(report.changes).breaking === 0;

export function reportJson(report: CheckReport): string {
  return `${JSON.stringify({ passed: passes(report), ...report, counts: counts(report.changes) }, null, 2)}\n`;
}

export function reportText(report: CheckReport): string {
  const { changes, servedOperations } = report;
  const lines = [
    `Compared with ${report.against}; ${servedOperations === null ? 'no usage record' : `usage record of ${servedOperations} served operation${servedOperations === 1 ? '' : 's'}`}.`,
  ];
  const width = Math.min(40, Math.max(0, ...changes.map((c) => c.coordinate.length)));
  for (const [severity, title] of [
    ['breaking', 'Breaking'],
    ['dangerous', 'Dangerous'],
    ['safe', 'Safe'],
  ] as [Severity, string][]) {
    const group = changes.filter((c) => c.severity === severity);
    if (group.length === 0) continue;
    lines.push('', `${title} (${group.length})`);
    for (const change of group) {
      lines.push(`  ${change.coordinate.padEnd(width)}  ${change.message}: ${change.why}`);
      if (severity !== 'safe') lines.push(...operationLines(change, servedOperations !== null));
    }
  }
  const { breaking, dangerous, safe } = counts(changes);
  const broken = new Set(changes.flatMap((c) => (c.severity === 'breaking' ? (c.operations ?? []).map((o) => o.hash) : [])));
  lines.push(
    '',
    changes.length === 0
      ? 'No changes.'
      : `${breaking} breaking${servedOperations === null || breaking === 0 ? '' : ` (${broken.size} served operation${broken.size === 1 ? '' : 's'} would break)`}, ${dangerous} dangerous, ${safe} safe.`,
  );
  if (breaking > 0) {
    lines.push(
      report.allowBreaking
        ? 'Breaking changes allowed (--allow-breaking).'
        : 'Check failed: breaking changes (--allow-breaking accepts them).',
    );
  }
  return `${lines.join('\n')}\n`;
}

function operationLines(change: CheckedChange, haveUsage: boolean): string[] {
  const verb = change.severity === 'breaking' ? 'breaks' : 'may affect';
  if (!haveUsage) return [];
  if (change.operations === undefined) return ['    the usage record does not say which operations use directives'];
  if (change.operations.length === 0) return change.severity === 'breaking' ? ['    no served operation uses it'] : [];
  const shown = change.operations.slice(0, LISTED_OPERATIONS).map((o) => `    ${verb} ${describe(o)}`);
  const more = change.operations.length - shown.length;
  return more > 0 ? [...shown, `    … and ${more} more`] : shown;
}

/** `query GetCustomer [1a2b3c4d5e6f]: 12 requests, last seen 2026-12-03T10:04:05.000Z`. */
function describe(operation: ServedOperation): string {
  const name = operation.name === null ? `anonymous ${operation.type}` : `${operation.type} ${operation.name}`;
  return `${name} [${operation.hash.slice(0, 12)}]: ${operation.count} request${operation.count === 1 ? '' : 's'}, last seen ${operation.lastSeen}`;
}
