//! JSON-RPC 2.0 over plain HTTP/1.1 (`std::net`), one connection per request.

use crate::{Error, Result};
use serde_json::{Value, json};
use std::{
    io::{Read, Write},
    net::TcpStream,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

/// A JSON-RPC endpoint at an `http://` URL.
#[derive(Debug)]
pub struct HttpRpc {
    host: String,
    port: u16,
    path: String,
    timeout: Duration,
    id: AtomicU64,
}

impl HttpRpc {
    /// The endpoint at `url` (`http://host[:port][/path]`, port 80 by default), with a
    /// 30-second timeout per request.
    ///
    /// # Errors
    ///
    /// [`Error::BadUrl`] for any other URL (https included).
    pub fn new(url: &str) -> Result<Self> {
        let rest = url.strip_prefix("http://").ok_or_else(|| Error::BadUrl(url.to_owned()))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => {
                (host, port.parse::<u16>().map_err(|_| Error::BadUrl(url.to_owned()))?)
            }
            None => (authority, 80),
        };
        if host.is_empty() {
            return Err(Error::BadUrl(url.to_owned()));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
            timeout: Duration::from_secs(30),
            id: AtomicU64::new(1),
        })
    }

    /// Calls `method` with `params` and returns the `result`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the node cannot be reached, [`Error::Rpc`] for a JSON-RPC error,
    /// [`Error::BadResponse`] for anything that is not a JSON-RPC response.
    pub fn request(&self, method: &str, params: Value) -> Result<Value> {
        let id = self.id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let body = body.to_string();
        let mut stream = TcpStream::connect((self.host.as_str(), self.port))?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        write!(
            stream,
            "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            self.path,
            self.host,
            self.port,
            body.len(),
            body
        )?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let bad = |detail: String| Error::BadResponse { method: method.to_owned(), detail };
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| bad("no HTTP header".into()))?;
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let mut payload = raw[split + 4..].to_vec();
        if !head.starts_with("http/1.1 200") && !head.starts_with("http/1.0 200") {
            let status = head.lines().next().unwrap_or_default().to_owned();
            return Err(bad(format!("HTTP status {status}")));
        }
        if head.contains("transfer-encoding: chunked") {
            payload = dechunk(&payload).ok_or_else(|| bad("bad chunked encoding".into()))?;
        }
        let response: Value =
            serde_json::from_slice(&payload).map_err(|e| bad(format!("not JSON: {e}")))?;
        if let Some(error) = response.get("error") {
            return Err(Error::Rpc {
                method: method.to_owned(),
                code: error["code"].as_i64().unwrap_or_default(),
                message: error["message"].as_str().unwrap_or_default().to_owned(),
            });
        }
        response.get("result").cloned().ok_or_else(|| bad("no result".into()))
    }
}

/// The body of a `Transfer-Encoding: chunked` response.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_field = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_field.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let rpc = HttpRpc::new("http://127.0.0.1:8545").unwrap();
        assert_eq!((rpc.host.as_str(), rpc.port, rpc.path.as_str()), ("127.0.0.1", 8545, "/"));
        let rpc = HttpRpc::new("http://node/rpc/v1").unwrap();
        assert_eq!((rpc.host.as_str(), rpc.port, rpc.path.as_str()), ("node", 80, "/rpc/v1"));
        for bad in ["https://node", "node:8545", "http://:1", "http://h:port"] {
            assert!(matches!(HttpRpc::new(bad), Err(Error::BadUrl(_))), "{bad}");
        }
    }

    #[test]
    fn chunked_bodies() {
        assert_eq!(dechunk(b"4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n").unwrap(), b"abcdef");
        assert_eq!(dechunk(b"zz\r\n"), None);
        assert_eq!(dechunk(b"9\r\nabc"), None);
    }
}
