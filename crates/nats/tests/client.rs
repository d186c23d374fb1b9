//! The client against the real NATS server (`UCPLUS_TEST_NATS_URL`, default
//! nats://127.0.0.1:4222). Each test works under a random subject prefix of its own. Without
//! a reachable server the tests skip, except under `CI=true`, where they fail.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use ucplus_nats::codec::CodecError;
use ucplus_nats::{Client, Error, Event, Message, Options, Subscription};

/// The longest any single expected event may take.
const WAIT: Duration = Duration::from_secs(5);

fn nats_url() -> String {
    std::env::var("UCPLUS_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// `host:port` of the server, for the proxy.
fn nats_host_port() -> String {
    let url = nats_url();
    url.strip_prefix("nats://").unwrap_or(&url).to_owned()
}

/// A client of the test server; `None` (skip) when there is none and this is not CI.
async fn connect_to(url: &str, options: Options) -> Option<Client> {
    match Client::connect_with(url, options).await {
        Ok(client) => Some(client),
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipped: no NATS server at {url}: {e}");
            None
        }
        Err(e) => panic!("a NATS server at {url} is required under CI=true: {e}"),
    }
}

async fn connect(name: &str) -> Option<Client> {
    connect_to(&nats_url(), Options::new(name)).await
}

/// A subject prefix no other test (or run) uses.
fn prefix() -> String {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).expect("random");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("ucplus_test.{hex}")
}

async fn next(sub: &mut Subscription) -> Event {
    match tokio::time::timeout(WAIT, sub.next()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("subscription {} ended", sub.subject()),
        Err(_) => panic!("nothing on {} within {WAIT:?}", sub.subject()),
    }
}

async fn next_message(sub: &mut Subscription) -> Message {
    match next(sub).await {
        Event::Message(message) => message,
        other => panic!("expected a message on {}, got {other:?}", sub.subject()),
    }
}

/// Waits (bounded) until `condition` holds.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "not within {WAIT:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A TCP proxy on 127.0.0.1:0 in front of the NATS server that can cut its connections
/// (and refuse new ones until restored) or freeze them (hold every byte).
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    frozen: watch::Sender<bool>,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let up = Arc::new(AtomicBool::new(true));
        let (frozen, _) = watch::channel(false);
        let pipes = Arc::new(Mutex::new(Vec::new()));
        let accept = tokio::spawn({
            let up = up.clone();
            let frozen = frozen.clone();
            let pipes = pipes.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        continue;
                    }
                    let Ok(server) = TcpStream::connect(nats_host_port()).await else {
                        continue;
                    };
                    let (client_rd, client_wr) = client.into_split();
                    let (server_rd, server_wr) = server.into_split();
                    let mut pipes = pipes.lock().expect("pipes");
                    pipes.push(tokio::spawn(pipe(client_rd, server_wr, frozen.subscribe())));
                    pipes.push(tokio::spawn(pipe(server_rd, client_wr, frozen.subscribe())));
                }
            }
        });
        Proxy {
            addr,
            up,
            frozen,
            pipes,
            accept,
        }
    }

    fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// Closes every connection through the proxy and refuses new ones.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for pipe in self.pipes.lock().expect("pipes").drain(..) {
            pipe.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    fn freeze(&self, frozen: bool) {
        self.frozen.send_replace(frozen);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        for pipe in self.pipes.lock().expect("pipes").drain(..) {
            pipe.abort();
        }
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if frozen.wait_for(|frozen| !*frozen).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_subscribe_between_two_clients() {
    let Some(a) = connect("pub").await else {
        return;
    };
    let Some(b) = connect("sub").await else {
        return;
    };
    let p = prefix();
    let subject = format!("{p}.pbx.7.events");
    let mut exact = b.subscribe(&subject).await.expect("subscribe");
    let mut wildcard = b
        .subscribe(&format!("{p}.pbx.*.events"))
        .await
        .expect("subscribe");
    let mut other = b
        .subscribe(&format!("{p}.pbx.8.events"))
        .await
        .expect("subscribe");
    b.flush().await.expect("flush");

    a.publish(&subject, Bytes::from_static(b"call 1 ringing"))
        .await
        .expect("publish");
    a.publish_with_reply(&subject, &format!("{p}.answers"), Bytes::new())
        .await
        .expect("publish");
    let first = Message {
        subject: subject.clone(),
        reply: None,
        payload: Bytes::from_static(b"call 1 ringing"),
    };
    let second = Message {
        subject: subject.clone(),
        reply: Some(format!("{p}.answers")),
        payload: Bytes::new(),
    };
    assert_eq!(next_message(&mut exact).await, first);
    assert_eq!(next_message(&mut exact).await, second);
    assert_eq!(next_message(&mut wildcard).await, first);
    assert_eq!(next_message(&mut wildcard).await, second);

    // Another PBX's subject got nothing, and a dropped subscription gets nothing more.
    drop(exact);
    a.publish(&format!("{p}.pbx.8.events"), Bytes::from_static(b"8"))
        .await
        .expect("publish");
    assert_eq!(
        next_message(&mut other).await.payload,
        Bytes::from_static(b"8")
    );
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_reply_through_one_inbox() {
    let Some(requester) = connect("requester").await else {
        return;
    };
    let Some(responder) = connect("responder").await else {
        return;
    };
    let subject = format!("{}.pbx.1.call", prefix());
    let mut requests = responder.subscribe(&subject).await.expect("subscribe");
    responder.flush().await.expect("flush");
    const REQUESTS: usize = 20;
    let answering = tokio::spawn({
        let responder = responder.clone();
        async move {
            for _ in 0..REQUESTS {
                let request = next_message(&mut requests).await;
                let reply = request.reply.expect("a request has a reply subject");
                let mut answer = request.payload.to_vec();
                answer.extend_from_slice(b" done");
                responder
                    .publish(&reply, Bytes::from(answer))
                    .await
                    .expect("answer");
            }
        }
    });
    // Concurrent requests each get their own answer.
    let asked = (0..REQUESTS).map(|i| {
        let requester = requester.clone();
        let subject = subject.clone();
        async move {
            let answer = requester
                .request(&subject, Bytes::from(format!("dial {i}")), WAIT)
                .await
                .expect("answered");
            assert_eq!(answer.payload, Bytes::from(format!("dial {i} done")));
        }
    });
    let asked: Vec<_> = asked.map(tokio::spawn).collect();
    for request in asked {
        request.await.expect("request task");
    }
    answering.await.expect("responder task");
    requester.close().await;
    responder.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_responder_fails_at_once_and_a_silent_one_times_out() {
    let Some(requester) = connect("requester").await else {
        return;
    };
    let Some(silent) = connect("silent").await else {
        return;
    };
    let p = prefix();

    let started = Instant::now();
    let result = requester
        .request(&format!("{p}.nobody"), Bytes::from_static(b"?"), WAIT)
        .await;
    assert!(matches!(result, Err(Error::NoResponders)), "{result:?}");
    assert!(started.elapsed() < WAIT / 2, "{:?}", started.elapsed());

    let _listening = silent
        .subscribe(&format!("{p}.silent"))
        .await
        .expect("subscribe");
    silent.flush().await.expect("flush");
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let result = requester
        .request(&format!("{p}.silent"), Bytes::from_static(b"?"), timeout)
        .await;
    assert!(matches!(result, Err(Error::Timeout)), "{result:?}");
    assert!(started.elapsed() >= timeout);
    requester.close().await;
    silent.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_messages_arrive_complete_and_in_order() {
    const COUNT: usize = 10_000;
    let Some(publisher) = connect("publisher").await else {
        return;
    };
    let mut options = Options::new("subscriber");
    options.subscription_capacity = COUNT * 2;
    let Some(subscriber) = connect_to(&nats_url(), options).await else {
        return;
    };
    let subject = format!("{}.sequence", prefix());
    let mut sub = subscriber.subscribe(&subject).await.expect("subscribe");
    subscriber.flush().await.expect("flush");
    let publishing = tokio::spawn({
        let publisher = publisher.clone();
        let subject = subject.clone();
        async move {
            for i in 0..COUNT {
                publisher
                    .publish(&subject, Bytes::from(i.to_string()))
                    .await
                    .expect("publish");
            }
            publisher.flush().await.expect("flush");
        }
    });
    for i in 0..COUNT {
        assert_eq!(
            next_message(&mut sub).await.payload,
            Bytes::from(i.to_string())
        );
    }
    publishing.await.expect("publisher task");
    publisher.close().await;
    subscriber.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_lags_is_told() {
    let Some(publisher) = connect("publisher").await else {
        return;
    };
    let mut options = Options::new("slow");
    options.subscription_capacity = 16;
    let Some(slow) = connect_to(&nats_url(), options).await else {
        return;
    };
    let subject = format!("{}.burst", prefix());
    let mut sub = slow.subscribe(&subject).await.expect("subscribe");
    slow.flush().await.expect("flush");
    for i in 0..100 {
        publisher
            .publish(&subject, Bytes::from(i.to_string()))
            .await
            .expect("publish");
    }
    // Everything published has reached the server, and then the slow client.
    publisher.flush().await.expect("flush");
    slow.flush().await.expect("flush");

    assert_eq!(next(&mut sub).await, Event::Lagged(84));
    for i in 84..100 {
        assert_eq!(
            next_message(&mut sub).await.payload,
            Bytes::from(i.to_string())
        );
    }
    // The subscription goes on after the gap.
    publisher
        .publish(&subject, Bytes::from_static(b"later"))
        .await
        .expect("publish");
    assert_eq!(
        next_message(&mut sub).await.payload,
        Bytes::from_static(b"later")
    );
    publisher.close().await;
    slow.close().await;
}

fn reconnecting(name: &str) -> Options {
    let mut options = Options::new(name);
    options.reconnect_delay = Duration::from_millis(20);
    options.reconnect_delay_max = Duration::from_millis(200);
    options.connect_timeout = Duration::from_secs(1);
    options
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_cut_the_client_reconnects_resubscribes_and_reports_the_gap() {
    let Some(direct) = connect("direct").await else {
        return;
    };
    let proxy = Proxy::start().await;
    let Some(proxied) = connect_to(&proxy.url(), reconnecting("proxied")).await else {
        return;
    };
    let p = prefix();
    let events = format!("{p}.tenant.1.events");
    let mut sub = proxied.subscribe(&events).await.expect("subscribe");
    let mut from_proxied = direct
        .subscribe(&format!("{p}.from"))
        .await
        .expect("subscribe");
    let answering = direct
        .subscribe(&format!("{p}.service"))
        .await
        .expect("subscribe");
    proxied.flush().await.expect("flush");
    direct.flush().await.expect("flush");
    direct
        .publish(&events, Bytes::from_static(b"before"))
        .await
        .expect("publish");
    assert_eq!(
        next_message(&mut sub).await.payload,
        Bytes::from_static(b"before")
    );

    proxy.cut();
    eventually("the client sees the cut", || !proxied.is_connected()).await;
    direct
        .publish(&events, Bytes::from_static(b"lost"))
        .await
        .expect("publish");
    direct.flush().await.expect("flush");
    // Published while disconnected: queued and sent after the reconnect.
    proxied
        .publish(&format!("{p}.from"), Bytes::from_static(b"queued"))
        .await
        .expect("queued while disconnected");

    proxy.restore();
    assert_eq!(next(&mut sub).await, Event::Reconnected);
    assert!(proxied.is_connected());
    direct
        .publish(&events, Bytes::from_static(b"after"))
        .await
        .expect("publish");
    assert_eq!(
        next_message(&mut sub).await.payload,
        Bytes::from_static(b"after")
    );
    assert_eq!(
        next_message(&mut from_proxied).await.payload,
        Bytes::from_static(b"queued")
    );

    // The shared inbox was subscribed again too: requests work.
    let service = tokio::spawn({
        let direct = direct.clone();
        let mut answering = answering;
        async move {
            let request = next_message(&mut answering).await;
            let reply = request.reply.expect("reply subject");
            direct
                .publish(&reply, Bytes::from_static(b"yes"))
                .await
                .expect("answer");
        }
    });
    let answer = proxied
        .request(&format!("{p}.service"), Bytes::from_static(b"up?"), WAIT)
        .await
        .expect("answered after the reconnect");
    assert_eq!(answer.payload, Bytes::from_static(b"yes"));
    service.await.expect("service task");
    proxied.close().await;
    direct.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_stops_answering_pings_is_replaced() {
    let Some(direct) = connect("direct").await else {
        return;
    };
    let proxy = Proxy::start().await;
    let mut options = reconnecting("frozen");
    options.ping_interval = Duration::from_millis(100);
    options.max_pings_outstanding = 2;
    let Some(proxied) = connect_to(&proxy.url(), options).await else {
        return;
    };
    let subject = format!("{}.events", prefix());
    let mut sub = proxied.subscribe(&subject).await.expect("subscribe");
    proxied.flush().await.expect("flush");

    // The TCP connection stays open but nothing passes: only the missing PONGs tell.
    proxy.freeze(true);
    let frozen_at = Instant::now();
    eventually("the client gives the silent connection up", || {
        !proxied.is_connected()
    })
    .await;
    assert!(
        frozen_at.elapsed() < Duration::from_secs(2),
        "{:?}",
        frozen_at.elapsed()
    );
    proxy.freeze(false);

    assert_eq!(next(&mut sub).await, Event::Reconnected);
    direct
        .publish(&subject, Bytes::from_static(b"again"))
        .await
        .expect("publish");
    assert_eq!(
        next_message(&mut sub).await.payload,
        Bytes::from_static(b"again")
    );
    proxied.close().await;
    direct.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_subscriptions_and_pending_requests() {
    let Some(client) = connect("closing").await else {
        return;
    };
    let Some(silent) = connect("silent").await else {
        return;
    };
    let p = prefix();
    let mut sub = client
        .subscribe(&format!("{p}.events"))
        .await
        .expect("subscribe");
    let _listening = silent
        .subscribe(&format!("{p}.slow"))
        .await
        .expect("subscribe");
    silent.flush().await.expect("flush");
    client.flush().await.expect("flush");
    let pending = tokio::spawn({
        let client = client.clone();
        let subject = format!("{p}.slow");
        async move { client.request(&subject, Bytes::new(), WAIT * 2).await }
    });
    // Let the request reach the server.
    silent.flush().await.expect("flush");
    client.flush().await.expect("flush");

    client.close().await;
    assert_eq!(tokio::time::timeout(WAIT, sub.next()).await, Ok(None));
    let request = tokio::time::timeout(WAIT, pending)
        .await
        .expect("the request ends with the client")
        .expect("request task");
    assert!(matches!(request, Err(Error::Closed)), "{request:?}");
    let publish = client.publish(&format!("{p}.events"), Bytes::new()).await;
    assert!(matches!(publish, Err(Error::Closed)), "{publish:?}");
    assert!(!client.is_connected());
    silent.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_requests_are_refused_with_typed_errors() {
    let Some(client) = connect("checks").await else {
        return;
    };
    let p = prefix();
    let result = client.publish(&format!("{p}.a b"), Bytes::new()).await;
    assert!(
        matches!(result, Err(Error::Protocol(CodecError::InvalidSubject(_)))),
        "{result:?}"
    );
    let result = client.subscribe(&format!("{p}..x")).await;
    assert!(
        matches!(result, Err(Error::Protocol(CodecError::InvalidSubject(_)))),
        "{result:?}"
    );
    let result = client.queue_subscribe(&format!("{p}.x"), "").await;
    assert!(
        matches!(result, Err(Error::Protocol(CodecError::InvalidQueue(_)))),
        "{result:?}"
    );
    let max = client.max_payload();
    assert!(max > 0);
    let result = client
        .publish(&format!("{p}.big"), Bytes::from(vec![0u8; max + 1]))
        .await;
    assert!(
        matches!(result, Err(Error::PayloadTooLarge { size, max: m }) if size == max + 1 && m == max),
        "{result:?}"
    );
    // The connection is still good.
    let mut sub = client
        .subscribe(&format!("{p}.ok"))
        .await
        .expect("subscribe");
    client.flush().await.expect("flush");
    client
        .publish(&format!("{p}.ok"), Bytes::from(vec![7u8; max]))
        .await
        .expect("a payload of exactly max_payload");
    assert_eq!(next_message(&mut sub).await.payload.len(), max);
    client.close().await;

    let result = Client::connect("tls://127.0.0.1:4222", "x").await;
    assert!(matches!(result, Err(Error::InvalidUrl(_))), "{result:?}");
    let unused = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = unused.local_addr().expect("address").port();
    drop(unused);
    let result = Client::connect(&format!("nats://127.0.0.1:{port}"), "x").await;
    assert!(matches!(result, Err(Error::Io(_))), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_disconnected_a_full_write_queue_fails_instead_of_blocking() {
    let proxy = Proxy::start().await;
    let mut options = reconnecting("queue");
    options.write_queue = 4;
    let Some(client) = connect_to(&proxy.url(), options).await else {
        return;
    };
    proxy.cut();
    eventually("the client sees the cut", || !client.is_connected()).await;
    let subject = format!("{}.x", prefix());
    let mut refused = None;
    for i in 0..10 {
        match tokio::time::timeout(WAIT, client.publish(&subject, Bytes::new())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                refused = Some((i, e));
                break;
            }
            Err(_) => panic!("publish {i} blocked while disconnected"),
        }
    }
    assert!(
        matches!(refused, Some((4, Error::Disconnected))),
        "{refused:?}"
    );
    client.close().await;
}

/// Reads one CRLF-terminated line (without the CRLF) from the client.
async fn read_line(conn: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    let read = tokio::time::timeout(WAIT, conn.read_line(&mut line))
        .await
        .expect("a line in time")
        .expect("read");
    assert!(read > 0, "the client closed the connection");
    line.strip_suffix("\r\n").expect("CRLF").to_owned()
}

/// Plays the server's side of the handshake: INFO (with a max_payload of 16), then reads up
/// to the client's PING and answers PONG. Returns the lines read.
async fn greet(listener: &TcpListener) -> (BufReader<TcpStream>, Vec<String>) {
    let (stream, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .expect("the client connects in time")
        .expect("accept");
    let mut conn = BufReader::new(stream);
    conn.get_mut()
        .write_all(b"INFO {\"server_id\":\"scripted\",\"max_payload\":16,\"headers\":true} \r\n")
        .await
        .expect("INFO");
    let mut lines = Vec::new();
    for _ in 0..10 {
        let line = read_line(&mut conn).await;
        if line == "PING" {
            conn.get_mut().write_all(b"PONG\r\n").await.expect("PONG");
            return (conn, lines);
        }
        lines.push(line);
    }
    panic!("no PING in the handshake: {lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_a_scripted_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "nats://bob:secret@{}",
        listener.local_addr().expect("address")
    );
    let server = tokio::spawn(async move {
        let (mut conn, hello) = greet(&listener).await;
        assert_eq!(hello.len(), 2, "{hello:?}");
        assert!(hello[0].starts_with("CONNECT {"), "{hello:?}");
        for field in [
            "\"name\":\"scripted\"",
            "\"verbose\":false",
            "\"headers\":true",
            "\"no_responders\":true",
            "\"user\":\"bob\"",
            "\"pass\":\"secret\"",
        ] {
            assert!(hello[0].contains(field), "{field} in {}", hello[0]);
        }
        assert!(
            hello[1].starts_with("SUB _INBOX.") && hello[1].ends_with(".* 1"),
            "{hello:?}"
        );

        // The client subscribes and flushes.
        assert_eq!(read_line(&mut conn).await, "SUB tenant.1.events 2");
        assert_eq!(read_line(&mut conn).await, "PING");
        conn.get_mut().write_all(b"PONG\r\n").await.expect("PONG");
        // Our PING is answered.
        conn.get_mut().write_all(b"PING\r\n").await.expect("PING");
        assert_eq!(read_line(&mut conn).await, "PONG");
        conn.get_mut()
            .write_all(b"MSG tenant.1.events 2 3\r\nhey\r\n")
            .await
            .expect("MSG");
        // Over the INFO's max_payload: the client gives the connection up.
        conn.get_mut()
            .write_all(b"MSG tenant.1.events 2 17\r\n")
            .await
            .expect("MSG");
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(WAIT, conn.read_to_end(&mut rest)).await;
        assert!(matches!(closed, Ok(Ok(_))), "{closed:?}");

        // It comes back with both subscriptions.
        let (mut conn, hello) = greet(&listener).await;
        assert!(hello[0].starts_with("CONNECT {"), "{hello:?}");
        let mut subs = hello[1..].to_vec();
        subs.sort();
        assert_eq!(subs.len(), 2, "{hello:?}");
        assert!(subs[0].starts_with("SUB _INBOX."), "{subs:?}");
        assert_eq!(subs[1], "SUB tenant.1.events 2");
        conn.get_mut()
            .write_all(b"MSG tenant.1.events 2 4\r\nback\r\n")
            .await
            .expect("MSG");
        // Hold the connection until the client is done.
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(WAIT, conn.read_to_end(&mut rest)).await;
    });

    let client = Client::connect_with(&url, reconnecting("scripted"))
        .await
        .expect("connect");
    assert_eq!(client.max_payload(), 16);
    let mut sub = client
        .subscribe("tenant.1.events")
        .await
        .expect("subscribe");
    client.flush().await.expect("flush");
    assert_eq!(
        next_message(&mut sub).await.payload,
        Bytes::from_static(b"hey")
    );
    assert_eq!(next(&mut sub).await, Event::Reconnected);
    assert_eq!(
        next_message(&mut sub).await.payload,
        Bytes::from_static(b"back")
    );
    client.close().await;
    tokio::time::timeout(WAIT, server)
        .await
        .expect("the script ends")
        .expect("the script's assertions hold");
}
