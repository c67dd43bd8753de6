//! Reading a node's dashboard feed (`GET /api/dashboard/events`, server-sent events) from a
//! blocking program: a test, a benchmark, a terminal tool.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::views::{ClusterView, NodeEvent};

/// One `tick` of the feed: every member's report, and the events since the previous tick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// The cluster as the node gathered it.
    pub cluster: ClusterView,
    /// The members' events since the previous tick, each naming its node.
    pub events: Vec<NodeEvent>,
}

/// An open feed.
#[derive(Debug)]
pub struct Feed {
    reader: BufReader<TcpStream>,
}

impl Feed {
    /// Opens the feed of the node at `addr`; each later read waits at most `timeout`. It asks
    /// in HTTP/1.0, so the answer comes unchunked and each line is an event's line.
    pub fn open(addr: SocketAddr, timeout: Duration) -> io::Result<Self> {
        let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        write!(
            stream,
            "GET /api/dashboard/events HTTP/1.0\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
        )?;
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status)?;
        if !status.contains(" 200 ") {
            return Err(io::Error::other(format!("the feed answered {}", status.trim())));
        }
        Ok(Self { reader })
    }

    /// The next tick; an error when the feed ends, times out or sends what is not a tick.
    pub fn next_tick(&mut self) -> io::Result<Tick> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the feed ended"));
            }
            if let Some(data) = line.strip_prefix("data: ") {
                return serde_json::from_str(data).map_err(io::Error::other);
            }
        }
    }
}
