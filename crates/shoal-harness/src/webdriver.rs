//! A tiny W3C WebDriver client (plain HTTP + JSON to a `chromedriver` this module starts):
//! enough to open a page, find elements by CSS selector, click, type, read text and
//! attributes, run a script and take a screenshot.
//!
//! [`Chromedriver`] owns the driver process (and the Chromium it starts: the same process
//! group); dropping it kills the group, so no browser outlives the test, whatever path it
//! takes. [`Session`] deletes its browser session when dropped. Used by the dashboard's
//! browser test and `shoal bench dashboard`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::{Value, json};

/// The key under which WebDriver names an element (W3C "web element identifier").
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long one WebDriver command may take (a new session starts a browser: a few seconds).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Where Debian installs the two programs (packages `chromium` and `chromium-driver`).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A running `chromedriver`, killed with its process group (and so its browsers) on drop.
/// It and its browsers get a private `TMPDIR` (their log, profiles and the sockets Chromium
/// leaves behind), removed on drop too.
pub struct Chromedriver {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    tmp: PathBuf,
}

impl Chromedriver {
    /// Starts `chromedriver` on a free loopback port and waits until it answers `/status`.
    /// Fails with the command that installs it when it or Chromium is missing.
    pub fn start() -> Result<Self, String> {
        let driver = which("chromedriver").unwrap_or_else(|| PathBuf::from(CHROMEDRIVER));
        let browser = chromium_binary();
        if !driver.exists() || browser.is_none() {
            return Err(format!(
                "the browser tests need Chromium and its WebDriver: {} {}; install them with \
                 `apt-get install -y chromium chromium-driver` (CI's .ci/run does)",
                if driver.exists() {
                    "found chromedriver,"
                } else {
                    "no chromedriver,"
                },
                if browser.is_some() {
                    "found chromium"
                } else {
                    "no chromium"
                },
            ));
        }
        let tmp = std::env::temp_dir().join(format!("shoal-chromedriver-{}", std::process::id()));
        let mut last = String::new();
        // The free port is found by binding port 0 and letting go: another process may take it
        // before chromedriver does, so try a few.
        for attempt in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| format!("no free port: {e}"))?
                .port();
            // (Again on each attempt: a failed one removed it.)
            std::fs::create_dir_all(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
            let log = tmp.join(format!("chromedriver-{attempt}.log"));
            let child = Command::new(&driver)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .env("TMPDIR", &tmp)
                // Its own process group: the browsers it starts join it, and one killpg ends all.
                .process_group(0)
                .spawn()
                .map_err(|e| format!("cannot run {}: {e}", driver.display()))?;
            let mut this = Self {
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                log,
                tmp: tmp.clone(),
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = this.child.try_wait() {
                    last = format!("chromedriver exited at once ({status}); {}", this.log_tail());
                    break;
                }
                if let Ok((200, body)) = request(this.addr, "GET", "/status", b"", Duration::from_secs(2))
                    && body.contains("\"ready\":true")
                {
                    return Ok(this);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if last.is_empty() {
                last = format!("chromedriver did not answer on {} in 10 s", this.addr);
            }
        }
        Err(last)
    }

    /// Opens a browser session: headless Chromium, `--no-sandbox` (CI runs as root).
    pub fn session(&self) -> Result<Session, String> {
        let browser = chromium_binary().unwrap_or_else(|| PathBuf::from(CHROMIUM));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": browser,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--window-size=1400,1000", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-extensions",
                ],
            },
        }}});
        let value = command(self.addr, "POST", "/session", Some(&caps))
            .map_err(|e| format!("{e}; chromedriver log: {}", self.log_tail()))?;
        let id = value["sessionId"]
            .as_str()
            .ok_or_else(|| format!("new session answered without sessionId: {value}"))?;
        Ok(Session {
            addr: self.addr,
            id: id.to_owned(),
        })
    }

    /// The last lines of the driver's log, for a failure message.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// `chromium` on the `PATH`, else Debian's path, if it exists.
fn chromium_binary() -> Option<PathBuf> {
    which("chromium").or_else(|| Some(PathBuf::from(CHROMIUM)).filter(|p| p.exists()))
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// One HTTP/1.1 request; returns the status and the body. chromedriver answers
/// `Connection: close` but keeps the connection open, so the body is read by its
/// `Content-Length`, not to the end of the stream.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let bad = |what: String| std::io::Error::other(what);
    let (head_end, length) = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(bad(format!("closed before the answer's header ended: {raw:?}")));
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            break (end + 4, length);
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("bad status line in {head:?}")))?;
    match length {
        Some(length) => {
            while raw.len() < head_end + length {
                let n = stream.read(&mut buf)?;
                if n == 0 {
                    return Err(bad(format!(
                        "closed after {} of {length} body bytes",
                        raw.len() - head_end
                    )));
                }
                raw.extend_from_slice(&buf[..n]);
            }
            raw.truncate(head_end + length);
        }
        None => {
            stream.read_to_end(&mut raw)?;
        }
    }
    Ok((status, String::from_utf8_lossy(&raw[head_end..]).into_owned()))
}

/// Sends one WebDriver command; returns its `value`, or an error naming the command and
/// what the driver said.
fn command(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let bytes = body.map(Value::to_string).unwrap_or_default();
    let (status, text) = request(addr, method, path, bytes.as_bytes(), COMMAND_TIMEOUT)
        .map_err(|e| format!("WebDriver {method} {path}: {e}"))?;
    let answer: Value = serde_json::from_str(&text)
        .map_err(|e| format!("WebDriver {method} {path} answered {status}, not JSON ({e}): {text}"))?;
    if status != 200 {
        let error = &answer["value"];
        return Err(format!(
            "WebDriver {method} {path} failed ({status}): {}: {}",
            error["error"].as_str().unwrap_or("?"),
            error["message"]
                .as_str()
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("")
        ));
    }
    Ok(answer["value"].clone())
}

/// An element found on the page (valid until the page replaces it).
#[derive(Clone, Debug)]
pub struct Element(String);

/// One browser session; deleted (its browser closed) on drop.
pub struct Session {
    addr: SocketAddr,
    id: String,
}

impl Session {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        command(
            self.addr,
            method,
            &format!("/session/{}{path}", self.id),
            body.as_ref(),
        )
    }

    /// Navigates to `url` and waits for the page to load.
    pub fn goto(&self, url: &str) -> Result<(), String> {
        self.cmd("POST", "/url", Some(json!({"url": url}))).map(drop)
    }

    /// The first element matching the CSS `selector`, or `None`.
    pub fn find(&self, selector: &str) -> Result<Option<Element>, String> {
        Ok(self.find_all(selector)?.into_iter().next())
    }

    /// The first element matching `selector`; an error naming the selector if none does.
    pub fn get(&self, selector: &str) -> Result<Element, String> {
        self.find(selector)?
            .ok_or_else(|| format!("no element matches {selector:?} on the page"))
    }

    /// Every element matching the CSS `selector`.
    pub fn find_all(&self, selector: &str) -> Result<Vec<Element>, String> {
        let value = self.cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": selector})),
        )?;
        Ok(value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned())))
            .collect())
    }

    /// Clicks `element` as a user would (scrolled into view; refused if covered).
    pub fn click(&self, element: &Element) -> Result<(), String> {
        self.cmd("POST", &format!("/element/{}/click", element.0), Some(json!({})))
            .map(drop)
    }

    /// Clicks the first element matching `selector`, looking it up again if the page
    /// replaced it meanwhile (the dashboard redraws its tables every second).
    pub fn click_css(&self, selector: &str) -> Result<(), String> {
        let mut last = String::new();
        for _ in 0..5 {
            match self.get(selector).and_then(|e| self.click(&e)) {
                Ok(()) => return Ok(()),
                // Replaced, or covered for a moment, while the page redrew.
                Err(e) if e.contains("stale element") || e.contains("click intercepted") => {
                    last = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// Empties an input, then types `text` into it.
    pub fn type_into(&self, selector: &str, text: &str) -> Result<(), String> {
        let element = self.get(selector)?;
        self.cmd("POST", &format!("/element/{}/clear", element.0), Some(json!({})))?;
        self.cmd(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(json!({"text": text})),
        )
        .map(drop)
    }

    /// The rendered text of `element`.
    pub fn text(&self, element: &Element) -> Result<String, String> {
        let v = self.cmd("GET", &format!("/element/{}/text", element.0), None)?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// The attribute `name` of `element`, if it has one.
    pub fn attr(&self, element: &Element, name: &str) -> Result<Option<String>, String> {
        let v = self.cmd("GET", &format!("/element/{}/attribute/{name}", element.0), None)?;
        Ok(v.as_str().map(str::to_owned))
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) in the page and returns
    /// what it returns.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Result<Vec<u8>, String> {
        let v = self.cmd("GET", "/screenshot", None)?;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .map_err(|e| format!("screenshot is not base64: {e}"))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = command(self.addr, "DELETE", &format!("/session/{}", self.id), None);
    }
}
