//! Best cost over time as a small inline SVG line.

use yew::prelude::*;

#[derive(Properties, Clone, Debug, PartialEq)]
pub struct ProgressChartProps {
    /// `(elapsed_ms, best_cost)`, in time order.
    pub points: Vec<(f64, f64)>,
}

const W: f64 = 260.0;
const H: f64 = 64.0;
const PAD: f64 = 4.0;

/// The polyline's `points` attribute scaled into the chart box.
pub fn svg_points(points: &[(f64, f64)]) -> String {
    let (t_max, lo, hi) = points.iter().fold((1.0f64, f64::INFINITY, f64::NEG_INFINITY), |(t, lo, hi), (x, y)| {
        (t.max(*x), lo.min(*y), hi.max(*y))
    });
    let span = if hi > lo { hi - lo } else { 1.0 };
    points
        .iter()
        .map(|(x, y)| {
            let px = PAD + x / t_max * (W - 2.0 * PAD);
            let py = PAD + (hi - y) / span * (H - 2.0 * PAD);
            format!("{px:.1},{py:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[function_component(ProgressChart)]
pub fn progress_chart(props: &ProgressChartProps) -> Html {
    let last = props.points.last().map_or(String::new(), |(_, c)| format!("{c:.2}"));
    html! {
        <svg class="progress-chart" data-testid="progress-chart" viewBox={format!("0 0 {W} {H}")} width={W.to_string()} height={H.to_string()}
            role="img" aria-label={format!("Best cost over time; now {last}")}>
            <rect x="0" y="0" width={W.to_string()} height={H.to_string()} class="chart-bg" />
            <polyline points={svg_points(&props.points)} class="chart-line" />
        </svg>
    }
}
