import { DEFAULT_ALERT_SETTINGS, type AlertSettings, type AnomalyFinding, type StoredAlertSettings, type Threshold } from '../alert-model.ts';
import type { StoredComparison } from '../compare-model.ts';
import { isRestorableProperty, type ObjectType } from '../model.ts';

/**
 * Rules every alert step shares: the settings in force, what counts as an anomaly, and
 * how settings and findings are shown.
 */

/** The account's settings, the defaults where it never changed them. */
export function settingsInForce(stored: StoredAlertSettings | undefined): AlertSettings {
  if (!stored) return structuredClone(DEFAULT_ALERT_SETTINGS);
  return { enabled: stored.enabled, removedRecords: stored.removedRecords, changedProperty: stored.changedProperty, emptiedType: stored.emptiedType };
}

/** `count` of `of` passes a threshold: strictly more than its percent, and at least its floor. */
export function passes(count: number, of: number, threshold: Threshold): boolean {
  return count >= threshold.atLeast && count * 100 > of * threshold.percent;
}

/**
 * What one object type's comparison of the previous backup with the new one reveals:
 * the type emptied (reported alone: its removals are that), records removed past the
 * threshold, and each property changed on more than its share of the records in both.
 * Properties that the CRM sets by itself (read-only, calculated: dates, scores) change
 * as a consequence of other changes and are left out.
 */
export function findAnomalies(settings: AlertSettings, comparison: StoredComparison, objectType: ObjectType | undefined): AnomalyFinding[] {
  const { objectType: type, id: comparisonId } = comparison;
  const before = comparison.removed + comparison.changed + comparison.unchanged;
  const after = comparison.added + comparison.changed + comparison.unchanged;
  if (settings.emptiedType && before > 0 && after === 0) return [{ kind: 'TYPE_EMPTIED', objectType: type, before, comparisonId }];
  const findings: AnomalyFinding[] = [];
  if (passes(comparison.removed, before, settings.removedRecords)) findings.push({ kind: 'RECORDS_REMOVED', objectType: type, removed: comparison.removed, before, comparisonId });
  const compared = comparison.changed + comparison.unchanged;
  const managedByCrm = new Set(objectType?.properties.filter((property) => !isRestorableProperty(property)).map((property) => property.name));
  for (const property of comparison.perProperty) {
    if (managedByCrm.has(property.name) || !passes(property.changed, compared, settings.changedProperty)) continue;
    findings.push({ kind: 'PROPERTY_CHANGED', objectType: type, property: property.name, changed: property.changed, compared, comparisonId });
  }
  return findings;
}

/** A finding in a sentence, for emails and the audit log. */
export function describeFinding(finding: AnomalyFinding, label: string): string {
  const count = (value: number) => value.toLocaleString('en-US');
  const share = (part: number, whole: number) => `${whole > 0 ? Math.round((part * 1000) / whole) / 10 : 100}%`;
  switch (finding.kind) {
    case 'TYPE_EMPTIED':
      return `${label}: all ${count(finding.before)} records are gone; the type is now empty.`;
    case 'RECORDS_REMOVED':
      return `${label}: ${count(finding.removed)} of ${count(finding.before)} records (${share(finding.removed, finding.before)}) are gone.`;
    case 'PROPERTY_CHANGED':
      return `${label}: "${finding.property}" changed on ${count(finding.changed)} of ${count(finding.compared)} records (${share(finding.changed, finding.compared)}).`;
  }
}
