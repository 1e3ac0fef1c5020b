//! Bar and line charts drawn by `plotters` on a canvas (its HTML5 canvas
//! backend), one category per x position.

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartKind {
    /// Side-by-side bars, one per series in each category.
    Bars,
    Lines,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    /// `#rrggbb`.
    pub color: &'static str,
    pub values: Vec<f64>,
}

#[derive(Properties, Clone, Debug, PartialEq)]
pub struct ChartProps {
    pub title: String,
    pub labels: Vec<String>,
    pub series: Vec<Series>,
    pub kind: ChartKind,
    #[prop_or_default]
    pub y_label: String,
    /// Fixed top of the y axis (e.g. 100 for percentages); else from the data.
    #[prop_or_default]
    pub y_max: Option<f64>,
    #[prop_or(260)]
    pub height: u32,
    pub testid: String,
}

fn rgb(hex: &str) -> RGBColor {
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("80"), 16).unwrap_or(128);
    RGBColor(channel(1), channel(3), channel(5))
}

/// A text summary of the data, read by screen readers instead of the canvas.
pub fn describe(props: &ChartProps) -> String {
    let mut parts = Vec::new();
    for s in &props.series {
        let values: Vec<String> =
            props.labels.iter().zip(&s.values).map(|(label, v)| format!("{label}: {}", (v * 10.0).round() / 10.0)).collect();
        parts.push(format!("{}: {}", s.name, values.join(", ")));
    }
    format!("{}. {}", props.title, parts.join("; "))
}

fn draw(canvas: HtmlCanvasElement, props: &ChartProps) -> Result<(), Box<dyn std::error::Error>> {
    let backend = CanvasBackend::with_canvas_object(canvas).ok_or("no 2D canvas context")?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE)?;
    let n = props.labels.len().max(1);
    let data_max = props.series.iter().flat_map(|s| s.values.iter().copied()).fold(0.0, f64::max);
    let y_max = props.y_max.unwrap_or(if data_max > 0.0 { data_max * 1.15 } else { 1.0 });
    let mut chart = ChartBuilder::on(&root)
        .caption(&props.title, ("sans-serif", 15))
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(48)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..y_max)?;
    let labels = props.labels.clone();
    // Labels only on whole positions: the axis is continuous.
    let label_at = move |x: &f64| {
        if (x - x.round()).abs() < 1e-6 { labels.get(x.round() as usize).cloned().unwrap_or_default() } else { String::new() }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n.min(14) + 1)
        .x_label_formatter(&label_at)
        .y_desc(&props.y_label)
        .label_style(("sans-serif", 11))
        .draw()?;
    let groups = props.series.len().max(1) as f64;
    let width = 0.8 / groups;
    for (index, s) in props.series.iter().enumerate() {
        let color = rgb(s.color);
        match props.kind {
            ChartKind::Bars => {
                let offset = -0.4 + index as f64 * width;
                chart
                    .draw_series(s.values.iter().enumerate().map(|(i, v)| {
                        let x0 = i as f64 + offset;
                        Rectangle::new([(x0, 0.0), (x0 + width * 0.9, *v)], color.filled())
                    }))?
                    .label(s.name.clone())
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
            }
            ChartKind::Lines => {
                let points: Vec<(f64, f64)> = s.values.iter().enumerate().map(|(i, v)| (i as f64, *v)).collect();
                chart
                    .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                    .label(s.name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], color.stroke_width(2)));
                chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
            }
        }
    }
    if props.series.len() > 1 {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 11))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

#[function_component(Chart)]
pub fn chart(props: &ChartProps) -> Html {
    let canvas = use_node_ref();
    {
        let canvas = canvas.clone();
        use_effect_with(props.clone(), move |props| {
            if let Some(element) = canvas.cast::<HtmlCanvasElement>()
                && let Err(e) = draw(element, props)
            {
                web_sys::console::error_1(&format!("chart {:?} could not be drawn: {e}", props.title).into());
            }
        });
    }
    let empty = props.labels.is_empty();
    html! {
        <figure class="chart" data-testid={props.testid.clone()}>
            if empty {
                <figcaption>{ format!("{}: no data in this range yet", props.title) }</figcaption>
            } else {
                <canvas ref={canvas} width="640" height={props.height.to_string()} role="img" aria-label={describe(props)} />
            }
        </figure>
    }
}
