//! The listen spec on a clap command line.

use crate::TempDir;
use clap::{CommandFactory, Parser};
use listenspec::spec::ListenArgs;

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    listen: ListenArgs,
}

/// `--listen ADDR` given twice binds both, as a server taking several
/// `SocketAddr` flags did; `$LISTEN` may hold several too, and adds to them.
#[test]
fn several_one_address_flags_add_up() {
    let cli = Cli::try_parse_from([
        "server",
        "--listen",
        "127.0.0.1:8080",
        "--listen",
        "[::1]:8080",
        "--listen",
        "/run/svc.sock",
    ])
    .unwrap();
    let spec = cli
        .listen
        .layers()
        .env(listen_is("http://127.0.0.1:9090; http://[::1]:9090"))
        .build()
        .unwrap();
    assert_eq!(
        spec.to_string(),
        "listen = 127.0.0.1, ::1 expose=public shared\n\
         listen-2 = unix\n\
         listen-3 = 127.0.0.1, ::1 expose=public shared\n\
         listen.tcp = tcp:8080\n\
         listen-2.unix = unix:/run/svc.sock\n\
         listen-3.http = http:9090\n"
    );
    let host = listenspec::Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
        .build()
        .unwrap();
    let plan = spec.plan(&host).unwrap();
    let tcp: Vec<String> = plan
        .endpoint("listen", "tcp")
        .unwrap()
        .binds()
        .iter()
        .map(|b| b.addr().to_string())
        .collect();
    assert_eq!(tcp, ["127.0.0.1:8080", "[::1]:8080"]);
}

#[test]
fn file_then_flags_then_the_environment_make_one_spec() {
    let dir = TempDir::new("args");
    let file = dir.join("listen.spec");
    std::fs::write(
        &file,
        "public = *\npublic.http = http:8080\nops = loopback\nops.m = http:9100\n",
    )
    .unwrap();
    let cli = Cli::try_parse_from([
        "server".as_ref(),
        "--listen-file".as_ref(),
        file.as_os_str(),
        "--listen".as_ref(),
        "public.http = http:9090".as_ref(),
        "--listen".as_ref(),
        "-ops".as_ref(),
    ])
    .unwrap();
    let spec = cli
        .listen
        .layers()
        .env(listen_is("public.grpc = tcp:9000"))
        .build()
        .unwrap();
    assert_eq!(
        spec.to_string(),
        "public = *\npublic.http = http:9090\npublic.grpc = tcp:9000\n"
    );
    // Without an environment there is no $LISTEN: parsing the arguments
    // read none, and building reads only what it is given.
    let spec = cli.listen.layers().build().unwrap();
    assert_eq!(spec.to_string(), "public = *\npublic.http = http:9090\n");

    // Errors name the flag, and a file that cannot be read is one of them.
    let cli = Cli::try_parse_from([
        "server",
        "--listen-file",
        "/nonexistent/listen.spec",
        "--listen",
        "x.a = tcp:1",
    ])
    .unwrap();
    let err = cli.listen.layers().build().unwrap_err().to_string();
    assert!(
        err.contains("--listen-file /nonexistent/listen.spec: cannot be read"),
        "{err}"
    );
    assert!(
        err.contains("--listen #1 line 1: endpoint x.a is on a network that is not defined"),
        "{err}"
    );
}

/// An environment holding only `$LISTEN`, as a test gives one.
fn listen_is(text: &'static str) -> impl Fn(&str) -> Option<String> + Send + Sync {
    move |name| (name == "LISTEN").then(|| text.to_owned())
}

#[test]
fn a_bad_line_fails_when_the_arguments_are_parsed() {
    let err = Cli::try_parse_from(["server", "--listen", "x = loopback advertize https://svc"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("did you mean advertise?"), "{err}");
    // `--listen "$ADDR"` with ADDR unset is no flag left out in silence.
    for empty in ["", " ", ";", " ; ", "# off"] {
        let err = Cli::try_parse_from(["server", "--listen", empty])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the value is empty (an unset shell variable?) or holds only `;` and comments; give a spec line, or leave the flag out"),
            "{err}"
        );
    }
    // $LISTEN is read when the layers are built, and its errors say so.
    let cli = Cli::try_parse_from(["server", "--listen", "x = 127.0.0.1"]).unwrap();
    let err = cli
        .listen
        .layers()
        .env(listen_is("x = 239.1.1.1"))
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("$LISTEN line 1:"), "{err}");
    assert!(err.contains("multicast group"), "{err}");
}

#[test]
fn a_unix_socket_path_is_a_whole_spec_on_the_command_line() {
    let cli = Cli::try_parse_from(["server", "--listen", "/run/app.sock"]).unwrap();
    let spec = cli.listen.layers().build().unwrap();
    assert_eq!(
        spec.to_string(),
        "listen = unix\nlisten.unix = unix:/run/app.sock\n"
    );
    // Unix endpoint lines too, checked as the arguments are parsed.
    let cli = Cli::try_parse_from([
        "server",
        "--listen",
        "local = unix",
        "--listen",
        "local.api = http:/run/app/api.sock mode=660",
    ])
    .unwrap();
    let spec = cli.listen.layers().build().unwrap();
    assert_eq!(
        spec.endpoints()[0].unix_path().unwrap().to_string(),
        "/run/app/api.sock"
    );
    let err = Cli::try_parse_from(["server", "--listen", "/run/app/"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("it names a directory"), "{err}");
}

#[test]
fn the_help_shows_the_grammar_and_the_variable() {
    let help = Cli::command().render_long_help().to_string();
    for says in [
        "--listen <LINE>",
        "NETWORK.NAME = tcp|udp|http|https:PORT",
        "NAME.NAME = unix|unixgram|http|https:PATH",
        "--listen-file <FILE>",
        "$LISTEN (spec lines, ';' between them)",
        "replaces an earlier one whole, options and",
    ] {
        assert!(help.contains(says), "{help}\ndoes not say {says:?}");
    }
    // A server's command without a description of its own does not get
    // ListenArgs' docs as one.
    assert!(!help.contains("flatten"), "{help}");
}

/// `--listen-file` reads a file of up to 64 MiB, and refuses one byte more
/// (reading `/dev/zero` or a log by mistake ends in an error).
#[test]
fn a_listen_file_may_be_64_mib_and_no_more() {
    let dir = TempDir::new("args-big");
    let file = dir.join("big.spec");
    for (len, too_large) in [(64 << 20, false), ((64 << 20) + 1, true)] {
        // Not UTF-8 from its first byte, so it is refused without parsing.
        let f = std::fs::File::create(&file).unwrap();
        std::io::Write::write_all(&mut &f, &[0xff]).unwrap();
        f.set_len(len).unwrap();
        let cli = Cli::try_parse_from([
            "server".as_ref(),
            "--listen-file".as_ref(),
            file.as_os_str(),
        ])
        .unwrap();
        let err = cli.listen.layers().build().unwrap_err().to_string();
        assert_eq!(
            err.contains("larger than the limit of 64 MiB"),
            too_large,
            "{len} bytes: {err}"
        );
    }
}

/// A `--listen-file` that is a named pipe no process writes to is an
/// error, at once: the server's start-up waited for a writer forever, and
/// then went on without the file's lines, the config's wildcard standing.
/// One with its writer (process substitution, `<(…)`) is read whole.
#[cfg(unix)]
#[test]
fn a_listen_file_that_is_a_pipe_without_a_writer_does_not_hold_the_start() {
    let dir = TempDir::new("args-fifo");
    let fifo = dir.join("listen.spec");
    crate::mkfifo(&fifo);
    let cli = Cli::try_parse_from([
        "server".as_ref(),
        "--listen-file".as_ref(),
        fifo.as_os_str(),
    ])
    .unwrap();
    let (done, got) = std::sync::mpsc::channel();
    let args = cli.listen.clone();
    std::thread::spawn(move || {
        let layers =
            listenspec::spec::Layers::new().text("config", "public = *; public.http = http:80");
        done.send(args.layers_over(layers).build().map(|s| s.to_string()))
    });
    let read = got
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("reading the pipe returned");
    let err = read.unwrap_err().to_string();
    assert!(
        err.contains("it is a pipe that gave nothing (no process wrote to it)"),
        "{err}"
    );

    // With a writer, open before the reader as a shell's `<(…)` has it:
    // what it writes, however slowly. (Read and write, so that opening it
    // does not wait for a reader.)
    let mut w = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::io::Write::write_all(&mut w, b"l = 127.0.0.1\nl.a = tcp:0\n").unwrap();
    });
    let spec = cli.listen.layers().build().unwrap();
    writer.join().unwrap();
    assert_eq!(spec.to_string(), "l = 127.0.0.1\nl.a = tcp:0\n");
}
