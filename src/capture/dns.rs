//! Looking names up: hickory-resolver on a Tokio runtime, the caller's or
//! a private one. Only with the `dns` feature; see the parent module for
//! what is asked and what it costs on the wire.

use std::collections::BTreeMap;
use std::future::{Future, poll_fn};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ProtocolConfig, ResolverConfig,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::udp::UdpClientStream;
use hickory_resolver::net::xfer::DnsExchange;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::{ConnectionProvider, PoolContext, Resolver};

use super::{CaptureError, CaptureOptions};
use crate::host::DnsAnswer;

/// hickory needs a Tokio runtime, and building one inside a running
/// runtime panics; so inside one the lookups run on a scoped thread with a
/// runtime of its own, and otherwise on a runtime on this thread.
pub(super) fn lookup_blocking(
    names: &[&str],
    opts: &CaptureOptions,
    limit: Option<Duration>,
) -> Result<BTreeMap<String, DnsAnswer>, CaptureError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| {
            match s
                .spawn(|| block_on_private(lookup_all(names, opts, limit)))
                .join()
            {
                Ok(answers) => answers,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    } else {
        block_on_private(lookup_all(names, opts, limit))
    }
}

/// Runs `fut` on a new current-thread runtime on this thread, which must not
/// be inside a runtime.
fn block_on_private<T>(
    fut: impl Future<Output = Result<T, CaptureError>>,
) -> Result<T, CaptureError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(CaptureError::Runtime)?;
    rt.block_on(fut)
}

pub(super) async fn lookup_all(
    names: &[&str],
    opts: &CaptureOptions,
    limit: Option<Duration>,
) -> Result<BTreeMap<String, DnsAnswer>, CaptureError> {
    let resolver = resolver(opts)?;
    let lookups = names.iter().map(|name| {
        let resolver = &resolver;
        async move {
            let answer = match limit {
                None => lookup(resolver, name, opts).await,
                // hickory's own bound is timeout × attempts plus its pool's
                // back-offs; only a timer of ours holds a caller's deadline.
                Some(limit) => tokio::time::timeout(limit, lookup(resolver, name, opts))
                    .await
                    .unwrap_or_else(|_| DnsAnswer::Failed {
                        error: format!("no answer within {limit:?}"),
                    }),
            };
            (name.to_string(), answer)
        }
    });
    Ok(join_all(lookups.collect()).await.into_iter().collect())
}

async fn lookup(
    resolver: &Resolver<OneSendPerAttempt>,
    name: &str,
    opts: &CaptureOptions,
) -> DnsAnswer {
    match resolver.lookup_ip(name).await {
        Ok(found) => {
            // IpAddr orders every IPv4 address before every IPv6 one, which is
            // the order the snapshot promises; the resolver's own order
            // depends on its strategy and on which answer came first.
            let mut addrs: Vec<IpAddr> = found.iter().collect();
            addrs.sort_unstable();
            addrs.dedup();
            DnsAnswer::Addrs(addrs)
        }
        Err(e) => DnsAnswer::Failed {
            error: describe(&e, opts),
        },
    }
}

/// The resolver's error in words an operator acts on; hickory's own text for
/// "no records" is a `Debug` dump of the query.
fn describe(e: &NetError, opts: &CaptureOptions) -> String {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(no))
            if no.response_code == ResponseCode::NXDomain =>
        {
            "no such name (NXDOMAIN)".to_owned()
        }
        NetError::Dns(DnsError::NoRecordsFound(no)) => {
            format!("no A or AAAA records ({})", rcode(no.response_code))
        }
        NetError::Dns(DnsError::ResponseCode(code)) => {
            format!("the nameserver answered {}", rcode(*code))
        }
        NetError::Timeout => format!(
            "timed out: no answer within {:?} after {} attempt(s)",
            opts.timeout, opts.attempts
        ),
        other => other.to_string(),
    }
}

/// A response code as `dig` prints it, with hickory's description.
fn rcode(code: ResponseCode) -> String {
    let mnemonic = match code {
        ResponseCode::NoError => "NOERROR",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::NXDomain => "NXDOMAIN",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::Refused => "REFUSED",
        _ => return format!("{code} (rcode {})", u16::from(code)),
    };
    format!("{mnemonic}: {code}")
}

fn resolver(opts: &CaptureOptions) -> Result<Resolver<OneSendPerAttempt>, CaptureError> {
    let failed = |e: NetError| CaptureError::Resolver {
        message: e.to_string(),
    };
    let provider = OneSendPerAttempt(TokioRuntimeProvider::default());
    let mut builder = match &opts.nameservers {
        Some(servers) => {
            let servers = servers
                .iter()
                .map(|s| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = s.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = s.port();
                    NameServerConfig::new(s.ip(), true, vec![udp, tcp])
                })
                .collect();
            Resolver::builder_with_config(ResolverConfig::from_name_servers(servers), provider)
        }
        None => Resolver::builder(provider).map_err(failed)?,
    };
    let o = builder.options_mut();
    o.timeout = opts.timeout;
    // hickory counts retries after the first query, not queries.
    o.attempts = opts.attempts - 1;
    o.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    builder.build().map_err(failed)
}

/// hickory's own connections, except that a UDP query is sent once per
/// attempt. hickory's UDP stream resends a query every 333 ms (or 1.2 ×
/// the server's round trip) until its timeout, up to three sends, on top of
/// the resolver's attempts: with the 1 s default, 2 attempts sent each query
/// 6 times. Retrying is the attempts' job, so the count stays what
/// [`CaptureOptions::attempts`] says.
#[derive(Clone)]
struct OneSendPerAttempt(TokioRuntimeProvider);

impl ConnectionProvider for OneSendPerAttempt {
    type Conn = DnsExchange<TokioRuntimeProvider>;
    type FutureConn = Pin<Box<dyn Future<Output = Result<Self::Conn, NetError>> + Send>>;
    type RuntimeProvider = TokioRuntimeProvider;

    fn new_connection(
        &self,
        ip: IpAddr,
        config: &ConnectionConfig,
        cx: &PoolContext,
    ) -> Result<Self::FutureConn, NetError> {
        if !matches!(config.protocol, ProtocolConfig::Udp) {
            return self.0.new_connection(ip, config, cx);
        }
        // The same settings hickory's provider takes from the pool.
        let stream = UdpClientStream::builder(SocketAddr::new(ip, config.port), self.0.clone())
            .with_timeout(Some(cx.options.timeout))
            .with_os_port_selection(cx.options.os_port_selection)
            .avoid_local_ports(cx.options.avoid_local_udp_ports.clone())
            .with_bind_addr(config.bind_addr)
            .with_max_retries(1);
        Ok(Box::pin(async move { Ok(stream.exchange()) }))
    }

    fn runtime_provider(&self) -> &TokioRuntimeProvider {
        &self.0
    }
}

/// Polls every future until all are done, outputs in input order. The
/// lookups borrow the resolver and options, so they cannot be spawned, and a
/// dozen names do not need more than a rescan per wake-up.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(&mut outputs) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(v) => *output = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use hickory_resolver::proto::op::ResponseCode;

    use super::rcode;

    #[test]
    fn response_codes_read_as_dig_prints_them() {
        for (code, mnemonic) in [
            (ResponseCode::NoError, "NOERROR"),
            (ResponseCode::FormErr, "FORMERR"),
            (ResponseCode::ServFail, "SERVFAIL"),
            (ResponseCode::NXDomain, "NXDOMAIN"),
            (ResponseCode::NotImp, "NOTIMP"),
            (ResponseCode::Refused, "REFUSED"),
        ] {
            assert_eq!(rcode(code), format!("{mnemonic}: {code}"));
        }
        // One dig has no mnemonic for here: its number.
        let code = ResponseCode::YXRRSet;
        assert_eq!(rcode(code), format!("{code} (rcode 7)"));
    }
}
