// MFA coverage over time as a small chart drawn on the server: an SVG of the daily totals the cron
// records (src/admin/coverage.ts), with the same figures as a table for screen readers. No chart
// library reaches the browser.
import type { CoverageDay } from "../admin/coverage";

const WIDTH = 600;
const HEIGHT = 160;
const PAD = { top: 12, right: 12, bottom: 24, left: 36 };

type Series = { key: "totalUsers" | "enrolledUsers" | "inGrace" | "blocked"; label: string; tone: string };
const SERIES: Series[] = [
  { key: "totalUsers", label: "Users", tone: "total" },
  { key: "enrolledUsers", label: "With MFA", tone: "enrolled" },
  { key: "inGrace", label: "In grace", tone: "grace" },
  { key: "blocked", label: "Blocked", tone: "blocked" },
];

/** The polyline points of one series, days spread across the width, counts up the height. */
function pointsOf(days: CoverageDay[], key: Series["key"], max: number): string {
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const step = days.length > 1 ? plotWidth / (days.length - 1) : 0;
  return days
    .map((day, i) => {
      const x = PAD.left + (days.length > 1 ? i * step : plotWidth / 2);
      const y = PAD.top + plotHeight - (day[key] / max) * plotHeight;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(" ");
}

export const CoverageChart = ({ days }: { days: CoverageDay[] }) => {
  if (days.length === 0) {
    return <p class="empty">No history yet: the daily job records today's figures at its next run.</p>;
  }
  const max = Math.max(1, ...days.map((day) => day.totalUsers));
  const first = days[0];
  const last = days.at(-1);
  const summary = `MFA coverage from ${first?.date} to ${last?.date}: ${last?.enrolledUsers} of ${last?.totalUsers} users with MFA on the last day.`;
  return (
    <figure class="coverage-chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={summary}
        data-coverage-days={String(days.length)}
      >
        <title>{summary}</title>
        <line
          class="axis"
          x1={PAD.left}
          y1={HEIGHT - PAD.bottom}
          x2={WIDTH - PAD.right}
          y2={HEIGHT - PAD.bottom}
        />
        <line class="axis" x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={HEIGHT - PAD.bottom} />
        <text class="tick" x={PAD.left - 6} y={PAD.top + 4} text-anchor="end">
          {max}
        </text>
        <text class="tick" x={PAD.left - 6} y={HEIGHT - PAD.bottom} text-anchor="end">
          0
        </text>
        <text
          class="tick"
          x={days.length > 1 ? PAD.left : WIDTH / 2}
          y={HEIGHT - 6}
          text-anchor={days.length > 1 ? "start" : "middle"}
        >
          {first?.date}
        </text>
        {days.length > 1 && (
          <text class="tick" x={WIDTH - PAD.right} y={HEIGHT - 6} text-anchor="end">
            {last?.date}
          </text>
        )}
        {SERIES.map((series) => {
          const points = pointsOf(days, series.key, max);
          const [x, y] = (points.split(" ").at(-1) ?? "0,0").split(",");
          // A dot on the latest day: a single day's line has no length to draw.
          return (
            <g>
              <polyline class={`series series-${series.tone}`} points={points} />
              <circle class={`series marker series-${series.tone}`} cx={x} cy={y} r="3.5" />
            </g>
          );
        })}
      </svg>
      <figcaption class="chart-legend">
        {SERIES.map((series) => (
          <span class={`legend legend-${series.tone}`}>{series.label}</span>
        ))}
      </figcaption>
      <table class="visually-hidden">
        <caption>MFA coverage by day</caption>
        <thead>
          <tr>
            <th scope="col">Date</th>
            {SERIES.map((series) => (
              <th scope="col">{series.label}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {days.map((day) => (
            <tr>
              <th scope="row">{day.date}</th>
              {SERIES.map((series) => (
                <td>{day[series.key]}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
};
