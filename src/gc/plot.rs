//! `--plot FILE.svg`: heap-after-GC over time (one series per process, full GCs marked, the
//! fitted growth line dashed) above the GC pauses, drawn with plotters' SVG backend. Output
//! is deterministic (no timestamps, fixed size and colours).

use std::path::Path;

use plotters::prelude::*;

use super::analysis::GcReport;
use crate::error::Error;

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

/// Writes the chart. Only SVG is supported (PNG would need a font rasteriser).
pub fn plot_svg(report: &GcReport, path: &Path) -> Result<(), Error> {
    let is_svg = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    if !is_svg {
        return Err(Error::bad_input(
            path,
            "--plot writes SVG only: give the file a .svg extension",
        ));
    }
    let svg = svg(report).map_err(|e| Error::bad_input(path, format!("cannot draw chart: {e}")))?;
    std::fs::write(path, svg).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The chart as an SVG document (also embedded by `heapscan report --gc`). Its only text is
/// fixed words, numbers and `pid N 0x…` legends (both parsed as numbers from the log).
pub fn svg(report: &GcReport) -> Result<String, Box<dyn std::error::Error>> {
    let mut svg = String::new();
    draw(report, &mut svg)?;
    Ok(svg)
}

fn draw(report: &GcReport, svg: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, (1000, 700)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(450);
    let points = || report.processes.iter().flat_map(|p| p.heap_after.iter());
    let max_t = points().map(|h| h.time_ms / 1000.0).fold(1.0, f64::max);
    let max_mb = points().map(|h| h.heap_after_mb).fold(1.0, f64::max) * 1.1;
    let max_pause = points().map(|h| h.pause_ms).fold(1.0, f64::max) * 1.1;

    let mut heap = ChartBuilder::on(&top)
        .caption("heap after GC", ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..max_t, 0f64..max_mb)?;
    heap.configure_mesh()
        .x_desc("seconds since isolate start")
        .y_desc("MB")
        .draw()?;
    for (i, p) in report.processes.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let series = p
            .heap_after
            .iter()
            .map(|h| (h.time_ms / 1000.0, h.heap_after_mb));
        heap.draw_series(LineSeries::new(series, color.stroke_width(1)))?
            .label(format!("pid {} {}", p.pid, p.isolate))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        let full = p
            .heap_after
            .iter()
            .filter(|h| h.kind.is_full())
            .map(|h| Circle::new((h.time_ms / 1000.0, h.heap_after_mb), 4, color.filled()));
        heap.draw_series(full)?;
        let g = &p.growth;
        if g.points >= 2 && g.window_s > 0.0 {
            heap.draw_series(DashedLineSeries::new(
                [
                    (g.window_start_ms / 1000.0, g.start_mb),
                    (g.window_end_ms / 1000.0, g.end_mb),
                ],
                6,
                4,
                color.stroke_width(2),
            ))?;
        }
    }
    heap.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    let mut pauses = ChartBuilder::on(&bottom)
        .caption("GC pauses", ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..max_t, 0f64..max_pause)?;
    pauses.configure_mesh().y_desc("ms").draw()?;
    for (i, p) in report.processes.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        pauses.draw_series(p.heap_after.iter().map(|h| {
            let x = h.time_ms / 1000.0;
            PathElement::new(vec![(x, 0.0), (x, h.pause_ms)], color)
        }))?;
    }
    root.present()?;
    Ok(())
}
