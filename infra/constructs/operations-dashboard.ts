import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { BUSINESS_METRICS, type BusinessMetric } from '#core/ports/metrics.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#service/catalog.ts';

export interface OperationsDashboardProps {
  stage: string;
  /** Every alarm of the stage: shown with its state, and each as a graph against its threshold. */
  alarms: cloudwatch.Alarm[];
}

/** Graphs of business metrics, by row: what a person on call reads first. */
const ROWS: Array<{ title: string; graphs: Array<{ title: string; metrics: BusinessMetric[]; statistic: string }> }> = [
  {
    title: 'Backups',
    graphs: [
      { title: 'Backups succeeded and failed', metrics: ['BackupsSucceeded', 'BackupsFailed'], statistic: 'Sum' },
      { title: 'Records exported', metrics: ['RecordsExported'], statistic: 'Sum' },
      { title: 'Bytes exported (zips)', metrics: ['BytesExported'], statistic: 'Sum' },
      { title: 'Backup duration, request to zip (p50, p95)', metrics: ['BackupDuration'], statistic: 'p95' },
      {
        title: 'Time in each stage (sum over invocations)',
        metrics: ['BackupListDuration', 'BackupExportDuration', 'BackupZipDuration', 'BackupFinalizeDuration'],
        statistic: 'Sum',
      },
    ],
  },
  {
    title: 'Restores',
    graphs: [
      { title: 'Restores succeeded and failed', metrics: ['RestoresSucceeded', 'RestoresFailed'], statistic: 'Sum' },
      { title: 'Records restored', metrics: ['RecordsRestored'], statistic: 'Sum' },
    ],
  },
  {
    title: 'Refusals',
    graphs: [
      { title: 'Quota refusals', metrics: ['QuotaRefusals'], statistic: 'Sum' },
      { title: 'Re-authentication failures (TOTP)', metrics: ['ReauthenticationFailures'], statistic: 'Sum' },
    ],
  },
];

/**
 * The stage's CloudWatch dashboard: the business metrics the handlers write in embedded
 * metric format (namespace CrmBackup, dimensions service and stage), then every alarm
 * with its state and its metric against the threshold. docs/operations.md walks through it.
 */
export class OperationsDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const metric = (name: BusinessMetric, statistic: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: { service: SERVICE_NAME, stage: props.stage },
        statistic,
        period: Duration.hours(1),
        label: name,
      });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `crm-backup-${props.stage}`,
      defaultInterval: Duration.days(7),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# crm-backup ${props.stage}\nBusiness metrics (hourly), then every alarm. Runbooks: docs/operations.md in the repository.`,
        width: 24,
        height: 2,
      }),
    );
    for (const row of ROWS) {
      this.dashboard.addWidgets(new cloudwatch.TextWidget({ markdown: `## ${row.title}`, width: 24, height: 1 }));
      this.dashboard.addWidgets(
        ...row.graphs.map(
          (graph) =>
            new cloudwatch.GraphWidget({
              title: graph.title,
              left: graph.metrics.map((name) => metric(name, graph.statistic)),
              leftYAxis: { min: 0, label: BUSINESS_METRICS[graph.metrics[0]!].unit },
              width: 24 / Math.min(row.graphs.length, 4),
              height: 6,
            }),
        ),
      );
    }
    this.dashboard.addWidgets(new cloudwatch.TextWidget({ markdown: '## Alarms', width: 24, height: 1 }));
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarm states', alarms: props.alarms, width: 24, height: Math.max(3, Math.ceil(props.alarms.length / 4) + 1) }));
    for (let index = 0; index < props.alarms.length; index += 4) {
      this.dashboard.addWidgets(...props.alarms.slice(index, index + 4).map((alarm) => new cloudwatch.AlarmWidget({ alarm, title: alarm.alarmName, width: 6, height: 5 })));
    }
  }
}
