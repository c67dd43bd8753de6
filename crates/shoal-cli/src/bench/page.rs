//! The dashboard page in headless Chromium, for `shoal bench dashboard`: how long its first
//! full render takes, and its actor table.

use std::time::{Duration, Instant};

use serde_json::Value;
use shoal_harness::webdriver::{Chromedriver, Session};

const LIMIT: Duration = Duration::from_secs(30);

/// What the page measured of itself, in ms.
pub(crate) struct PageTimes {
    /// From the start of loading to the first full render of the default view.
    pub(crate) first_render_ms: f64,
    /// From a click on the Actors tab to its first page of actors shown.
    pub(crate) actors_ms: f64,
}

/// Opens `url` in a fresh browser per trial and reads the page's own marks
/// (`window.shoalFirstRender`, `window.shoalActorsShown`). Fails when no browser can start.
pub(crate) fn measure(url: &str, trials: usize) -> Result<Vec<PageTimes>, String> {
    let driver = Chromedriver::start()?;
    let mut times = Vec::new();
    for _ in 0..trials {
        let session = driver.session()?;
        session.goto(url)?;
        let first_render_ms = wait_number(&session, "return window.shoalFirstRender ?? null")?;
        let clicked = number(&session.execute(
            "const t = performance.now(); document.getElementById('tab-actors').click(); return t;",
            Vec::new(),
        )?)?;
        let shown = "const s = window.shoalActorsShown; return s && s.at_ms > arguments[0] ? s.at_ms : null;";
        let actors_at = wait_number_with(&session, shown, clicked)?;
        times.push(PageTimes {
            first_render_ms,
            actors_ms: actors_at - clicked,
        });
    }
    Ok(times)
}

fn wait_number(session: &Session, script: &str) -> Result<f64, String> {
    wait_number_with(session, script, 0.0)
}

/// Runs `script` (with `arg` as `arguments[0]`) until it returns a number.
fn wait_number_with(session: &Session, script: &str, arg: f64) -> Result<f64, String> {
    let start = Instant::now();
    loop {
        let value = session.execute(script, vec![Value::from(arg)])?;
        if let Ok(n) = number(&value) {
            return Ok(n);
        }
        if start.elapsed() > LIMIT {
            return Err(format!("the page did not answer {script:?} within {LIMIT:?}"));
        }
        std::thread::sleep(Duration::from_millis(20)); // polling the page's mark
    }
}

fn number(value: &Value) -> Result<f64, String> {
    value.as_f64().ok_or_else(|| format!("not a number: {value}"))
}
