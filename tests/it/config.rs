//! A ListenSpec inside a user's own config, through serde: TOML, JSON and
//! YAML, in each of the three forms, with errors that say where.

use listenspec::ListenSpec;
use listenspec::spec::{Layers, SpecText};
use serde::Deserialize;

/// A server's own config, with the listen spec as one of its fields.
#[derive(Debug, Deserialize, serde::Serialize, PartialEq)]
struct Config {
    name: String,
    listen: ListenSpec,
}

fn spec(text: &str) -> ListenSpec {
    text.parse().unwrap_or_else(|e| panic!("{e}"))
}

const EXPECTED: &str = "
    public = * advertise https://my-awesome-service
    ops = if:eth2, !link-local
    public.http = http:8080
    ops.metrics = http:9100 backlog=1024 device
    ops.snmp = udp:161
";

#[test]
fn every_form_in_every_format_reads_the_same_spec() {
    let want = spec(EXPECTED);
    let toml_string = r#"
name = "svc"
listen = """
public = * advertise https://my-awesome-service
ops = if:eth2, !link-local
public.http = http:8080
ops.metrics = http:9100 backlog=1024 device
ops.snmp = udp:161
"""
"#;
    let toml_list = r#"
name = "svc"
listen = [
    "public = * advertise https://my-awesome-service",
    "ops = if:eth2, !link-local",
    "public.http = http:8080",
    "ops.metrics = http:9100 backlog=1024 device",
    "ops.snmp = udp:161",
]
"#;
    let toml_table = r#"
name = "svc"
[listen.public]
select = "*"
advertise = "https://my-awesome-service"
endpoints.http = { protocol = "http", port = 8080 }

[listen.ops]
select = ["if:eth2", "!link-local"]
endpoints.metrics = { protocol = "http", port = 9100, backlog = 1024, device = true }
endpoints.snmp = { protocol = "udp", port = "161" }
"#;
    for (form, text) in [
        ("string", toml_string),
        ("list", toml_list),
        ("table", toml_table),
    ] {
        let config: Config = toml::from_str(text).unwrap_or_else(|e| panic!("TOML {form}: {e}"));
        assert_eq!(config.listen, want, "TOML {form}");
    }

    let json_table = r#"{"name": "svc", "listen": {
        "public": {"select": ["*"], "advertise": "https://my-awesome-service",
                   "endpoints": {"http": {"protocol": "http", "port": 8080}}},
        "ops": {"select": ["if:eth2", "!link-local"],
                "endpoints": {"metrics": {"protocol": "http", "port": 9100, "backlog": 1024, "device": true},
                              "snmp": {"protocol": "udp", "port": 161}}}}}"#;
    let json_list = serde_json::json!({"name": "svc", "listen": EXPECTED.trim().lines().map(str::trim).collect::<Vec<_>>()});
    assert_eq!(
        serde_json::from_str::<Config>(json_table).unwrap().listen,
        want,
        "JSON table"
    );
    assert_eq!(
        serde_json::from_value::<Config>(json_list).unwrap().listen,
        want,
        "JSON list"
    );

    let yaml = "
name: svc
listen:
  public:
    select: ['*']
    advertise: https://my-awesome-service
    endpoints:
      http: {protocol: http, port: 8080}
  ops:
    select: [if:eth2, '!link-local']
    endpoints:
      metrics: {protocol: http, port: 9100, backlog: 1024, device: true}
      snmp: {protocol: udp, port: 161}
";
    let config: Config = serde_norway::from_str(yaml).unwrap_or_else(|e| panic!("YAML: {e}"));
    assert_eq!(config.listen, want, "YAML table");
}

#[test]
fn a_config_field_that_was_a_socket_address_keeps_working() {
    for (old, endpoint) in [
        ("0.0.0.0:8080", "tcp"),
        ("[::1]:9000", "tcp"),
        ("http://0.0.0.0:8080", "http"),
    ] {
        let config: Config = toml::from_str(&format!("name = \"svc\"\nlisten = \"{old}\""))
            .unwrap_or_else(|e| panic!("{old}: {e}"));
        let ep = &config.listen.endpoints()[0];
        assert_eq!(
            ep.qualified().to_string(),
            format!("listen.{endpoint}"),
            "{old}"
        );
    }
}

/// A list of addresses, as a `Vec<SocketAddr>` field or etcd's URL lists
/// held them, keeps every address: the entries add up.
#[test]
fn a_list_of_addresses_keeps_every_one() {
    let config: Config = toml::from_str(
        "name = 'svc'\nlisten = ['127.0.0.1:8080', '[::1]:8080', 'https://127.0.0.1:8443', '/run/svc.sock']",
    )
    .unwrap();
    assert_eq!(
        config.listen.to_string(),
        "listen = 127.0.0.1, ::1 expose=public shared\n\
         listen-2 = 127.0.0.1 expose=public shared\n\
         listen-3 = unix\n\
         listen.tcp = tcp:8080\n\
         listen-2.https = https:8443\n\
         listen-3.unix = unix:/run/svc.sock\n"
    );
}

#[test]
fn a_spec_is_written_back_as_its_canonical_text_and_reads_again() {
    let config = Config {
        name: "svc".to_owned(),
        listen: spec(EXPECTED),
    };
    let text = toml::to_string(&config).unwrap();
    assert_eq!(
        toml::from_str::<Config>(&text).unwrap(),
        config,
        "TOML:\n{text}"
    );
    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(
        serde_json::from_str::<Config>(&json).unwrap(),
        config,
        "JSON:\n{json}"
    );
    let yaml = serde_norway::to_string(&config).unwrap();
    assert_eq!(
        serde_norway::from_str::<Config>(&yaml).unwrap(),
        config,
        "YAML:\n{yaml}"
    );
}

#[test]
fn errors_say_where_in_the_config_and_come_all_at_once() {
    let cases: &[(&str, &[&str])] = &[
        // The string form: the TOML key and line, then each line of the value.
        (
            "name = 'svc'\nlisten = '''\nx = loopback\nx.a = tcp:70000\nx.b = tcp:1 backlg=5\n'''",
            &[
                "listen",
                "line 2",
                "70000",
                "line 3",
                "did you mean backlog?",
            ],
        ),
        // The list form: the entry's number is its line.
        (
            "name = 'svc'\nlisten = ['x = loopback', 'x.a = udp:53 backlog=1']",
            &["line 2", "UDP sockets do not listen", "entry of the list"],
        ),
        // The table form: the network and endpoint keys.
        (
            "name = 'svc'\n[listen.x]\nselect = ['loopback', 'privat']\nendpoints.a = { protocol = 'ftp', port = 21 }",
            &[
                "x:",
                "did you mean the address class private?",
                "x.endpoints.a:",
                "protocol \"ftp\"",
            ],
        ),
        // Unknown keys are refused by name.
        (
            "name = 'svc'\n[listen.x]\nselect = 'loopback'\nexpsoe = 'local'",
            &[
                "x: unknown field `expsoe`, expected one of `select`, `expose`, `advertise`, `shared`, `endpoints`",
            ],
        ),
        // A value may not smuggle in more words.
        (
            "name = 'svc'\n[listen.x]\nselect = ['10.0.0.0/8 expose=public']",
            &["x.select", "must be one word"],
        ),
        // A device's name is one word too.
        (
            "name = 'svc'\n[listen.x]\nselect = 'loopback'\nendpoints.a = { protocol = 'tcp', port = 1, device = 'lo reuseport' }",
            &["x.endpoints.a.device", "must be one word"],
        ),
        // Endpoints are a table by name.
        (
            "name = 'svc'\n[listen.x]\nselect = 'loopback'\nendpoints = 5",
            &["expected a table of endpoints by name"],
        ),
        // A bare port, as a `port = 8080` field was, says which forms a spec takes.
        (
            "name = 'svc'\nlisten = 8080",
            &[
                "\"8080\" is a port without an address",
                "write :8080 for every address of both families (systemd's ListenStream=8080), 0.0.0.0:8080 for every IPv4 address (nginx's `listen 8080`), or 127.0.0.1:8080 for this host only",
            ],
        ),
        (
            "name = 'svc'\nlisten = true",
            &[
                "invalid type: boolean `true`",
                "expected a listen spec: a string of spec lines, a list of lines, or a table of networks",
            ],
        ),
    ];
    for (text, says) in cases {
        let err = toml::from_str::<Config>(text).unwrap_err().to_string();
        for s in *says {
            assert!(err.contains(s), "{text:?}: {err} does not say {s:?}");
        }
    }
}

const UNIX_EXPECTED: &str = "
    local = unix
    local.api = http:/run/app/api.sock mode=660 owner=www-data group=33 stale=refuse keep-file
    local.ctl = unix:@app-ctl
";

#[test]
fn the_table_form_takes_unix_sockets_in_every_format() {
    let want = spec(UNIX_EXPECTED);
    let toml_table = r#"
name = "svc"
[listen.local]
select = "unix"
endpoints.api = { protocol = "http", path = "/run/app/api.sock", mode = "0660", owner = "www-data", group = 33, stale = "refuse", keep-file = true }
endpoints.ctl = { protocol = "unix", path = "@app-ctl" }
"#;
    let config: Config = toml::from_str(toml_table).unwrap_or_else(|e| panic!("TOML: {e}"));
    assert_eq!(config.listen, want, "TOML table");
    let toml_string = "name = 'svc'\nlisten = '/run/app/api.sock'";
    let config: Config = toml::from_str(toml_string).unwrap();
    assert_eq!(
        config.listen,
        spec("listen = unix\nlisten.unix = unix:/run/app/api.sock"),
        "one path is a whole spec"
    );

    let json = r#"{"name": "svc", "listen": {"local": {"select": "unix", "endpoints": {
        "api": {"protocol": "http", "path": "/run/app/api.sock", "mode": "660",
                "owner": "www-data", "group": "33", "stale": "refuse", "keep_file": true},
        "ctl": {"protocol": "unix", "path": "@app-ctl"}}}}}"#;
    let config: Config = serde_json::from_str(json).unwrap_or_else(|e| panic!("JSON: {e}"));
    assert_eq!(config.listen, want, "JSON table");

    let yaml = "
name: svc
listen:
  local:
    select: unix
    endpoints:
      api: {protocol: http, path: /run/app/api.sock, mode: '660', owner: www-data, group: 33, stale: refuse, keep-file: true}
      ctl: {protocol: unix, path: '@app-ctl'}
";
    let config: Config = serde_norway::from_str(yaml).unwrap_or_else(|e| panic!("YAML: {e}"));
    assert_eq!(config.listen, want, "YAML table");
}

#[test]
fn unix_table_errors_name_the_key_and_the_fix() {
    let cases: &[(&str, &[&str])] = &[
        // A number is no mode: TOML's 0o660 and 660 arrive alike.
        (
            "[listen.l]\nselect = 'unix'\nendpoints.a = { protocol = 'unix', path = '/run/a.sock', mode = 0o660 }",
            &[
                "l.endpoints.a.mode",
                "in quotes",
                "(\"660\")",
                "for 0o660 and for 432 alike",
            ],
        ),
        (
            "[listen.l]\nselect = 'unix'\nendpoints.a = { protocol = 'unix', path = '/run/a.sock', mode = 660 }",
            &[
                "l.endpoints.a.mode",
                "string of octal digits",
                "for 0o1224 and for 660 alike",
            ],
        ),
        (
            "[listen.l]\nselect = 'unix'\nendpoints.a = { protocol = 'unix', path = '/run/a.sock', port = 80 }",
            &["l.endpoints.a:", "not both"],
        ),
        (
            "[listen.l]\nselect = 'unix'\nendpoints.a = { protocol = 'unix' }",
            &["l.endpoints.a:", "path = \"/run/app.sock\""],
        ),
        (
            "[listen.l]\nselect = 'unix'\nendpoints.a = { protocol = 'unix', path = 'run/a.sock', mode = '999' }",
            &["l.endpoints.a.path:", "a relative one (./app.sock)"],
        ),
        (
            "[listen.l]\nselect = 'unix'\nendpoints.a = { protocol = 'unix', path = '/run/', mode = '999' }",
            &["l.endpoints.a:", "names a directory", "at most 777"],
        ),
        (
            "[listen.l]\nselect = 'unix'\nendpoints.a = { protocol = 'unix', path = '/run/a b.sock' }",
            &["l.endpoints.a.path", "must be one word"],
        ),
        (
            "[listen.l]\nselect = 'loopback'\nendpoints.a = { protocol = 'http', path = '/run/a.sock' }",
            &["l.endpoints.a:", "network l holds IP addresses"],
        ),
        (
            "[listen.l]\nselect = 'unix'\nendpoints.a = { protocol = 'unix', path = '/run/a.sock', keep-fil = true }",
            &[
                "l.endpoints.a: unknown field `keep-fil`",
                "(did you mean keep-file?)",
            ],
        ),
    ];
    for (text, says) in cases {
        let text = format!("name = 'svc'\n{text}");
        let err = toml::from_str::<Config>(&text).unwrap_err().to_string();
        for s in *says {
            assert!(err.contains(s), "{text:?}: {err} does not say {s:?}");
        }
    }
}

/// `device` in the table form is `true` (the address's own interface) or
/// the name of one.
#[test]
fn the_table_form_takes_a_named_device() {
    let text = "name = 'svc'\n[listen.ops]\nselect = 'if:eth2'\nendpoints.metrics = { protocol = 'http', port = 9100, device = 'ops0' }";
    let config: Config = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.listen,
        spec("ops = if:eth2\nops.metrics = http:9100 device=ops0")
    );
}

#[test]
fn a_dotted_name_in_the_table_form_is_an_error_naming_the_key() {
    // Before, `[listen."ops.metrics"]` became the line `ops.metrics = ...`:
    // an endpoint statement, not the network written.
    let network = [
        "name = 'svc'\n[listen.\"ops.metrics\"]\nselect = 'loopback'\nendpoints.a = { protocol = 'tcp', port = 1 }",
        r#"{"name": "svc", "listen": {"ops.metrics": {"select": "loopback", "endpoints": {"a": {"protocol": "tcp", "port": 1}}}}}"#,
        "name: svc\nlisten:\n  ops.metrics:\n    select: loopback\n    endpoints:\n      a: {protocol: tcp, port: 1}\n",
    ];
    let endpoint = [
        "name = 'svc'\n[listen.ops]\nselect = 'loopback'\nendpoints.\"a.b\" = { protocol = 'tcp', port = 1 }",
        r#"{"name": "svc", "listen": {"ops": {"select": "loopback", "endpoints": {"a.b": {"protocol": "tcp", "port": 1}}}}}"#,
        "name: svc\nlisten:\n  ops:\n    select: loopback\n    endpoints:\n      a.b: {protocol: tcp, port: 1}\n",
    ];
    for (texts, says) in [
        (
            network,
            [
                "network name: \"ops.metrics\" holds a '.'",
                "\"ops-metrics\"",
            ],
        ),
        (
            endpoint,
            ["ops.endpoints name: \"a.b\" holds a '.'", "\"a-b\""],
        ),
    ] {
        let [toml_text, json_text, yaml_text] = texts;
        let errors = [
            toml::from_str::<Config>(toml_text).unwrap_err().to_string(),
            serde_json::from_str::<Config>(json_text)
                .unwrap_err()
                .to_string(),
            serde_norway::from_str::<Config>(yaml_text)
                .unwrap_err()
                .to_string(),
        ];
        for err in errors {
            for s in says {
                assert!(err.contains(s), "{err} does not say {s:?}");
            }
        }
    }
}

/// A `SpecText` field takes every form a `ListenSpec` field does, keeps
/// `${NAME}` for the layers' environment, and still refuses a table whose
/// shape is wrong when the file is read.
#[test]
fn spec_text_keeps_variables_for_the_layers_in_every_form() {
    #[derive(Deserialize)]
    struct Config {
        listen: SpecText,
    }
    let forms = [
        r#"listen = "public = 127.0.0.1\npublic.http = http:${PORT:-8080}""#,
        r#"listen = ["public = 127.0.0.1", "public.http = http:${PORT:-8080}"]"#,
        r#"
        [listen.public]
        select = "127.0.0.1"
        endpoints.http = { protocol = "http", port = "${PORT:-8080}" }
        "#,
    ];
    for (form, text) in forms.iter().enumerate() {
        let config: Config = toml::from_str(text).unwrap_or_else(|e| panic!("form {form}: {e}"));
        assert!(
            config
                .listen
                .as_str()
                .starts_with("public = 127.0.0.1\npublic.http = http:${PORT:-8080}"),
            "form {form}: {:?}",
            config.listen
        );
        let layers = || Layers::new().text("config.toml [listen]", config.listen.clone());
        let port = |vars: &'static [(&'static str, &'static str)]| {
            let spec = layers()
                .env(move |name| {
                    vars.iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| (*v).to_owned())
                })
                .build()
                .unwrap_or_else(|e| panic!("form {form}: {e}"));
            spec.endpoints()[0].ports().unwrap().to_string()
        };
        assert_eq!(port(&[("PORT", "3000")]), "3000", "form {form}");
        assert_eq!(port(&[]), "8080", "form {form}");
        // A variable without a default quotes the statement it is in: the
        // table's own lines are not the file's.
        let unset = text.replace("${PORT:-8080}", "${PROT}");
        let config: Config = toml::from_str(&unset).unwrap();
        let err = Layers::new()
            .text("config.toml [listen]", config.listen)
            .env(|_| None)
            .build()
            .unwrap_err();
        assert!(
            err.to_string().contains(
                "config.toml [listen] line 2: ${PROT} is not set, and has no default (write ${PROT:-DEFAULT} for one)\n    public.http = http:${PROT}"
            ),
            "form {form}: {err}"
        );
        // Built without an environment, the variable is the error.
        let err = layers().build().unwrap_err();
        assert!(
            err.to_string().contains(
                "config.toml [listen] line 2: ${PORT:-8080} is a variable, but nothing expanded it"
            ),
            "form {form}: {err}"
        );
    }
    let err = toml::from_str::<Config>(
        r#"
        [listen."ops.metrics"]
        select = "loopback"
        "#,
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("holds a '.'"), "{err}");
}

/// What a config file says is echoed in the errors reading it: a control
/// character there (an escape sequence, a carriage return) is refused in a
/// table's values and keys, and printed escaped, never raw.
#[test]
fn control_characters_in_a_config_are_never_printed_raw() {
    let listens = [
        r#"{"x\u001b[2J": {"select": "loopback", "endpoints": {"a": {"protocol": "tcp", "port": 1}}}}"#,
        r#"{"x": {"select": "loop\u001bback", "endpoints": {"a": {"protocol": "tcp", "port": 1}}}}"#,
        r#"{"x": {"select": ["loopback", "\r\u001b[1Aforged"], "endpoints": {"a": {"protocol": "tcp", "port": 1}}}}"#,
        r#"{"x": {"select": "loopback", "endpoints": {"a\u001b": {"protocol": "tcp", "port": 1}}}}"#,
        r#"{"x": {"select": "loopback", "endpoints": {"a": {"protocol": "tcp\u0007", "port": 1}}}}"#,
        r#"{"x": {"select": "loopback", "advertise": "a\u001b]0;t\u0007", "endpoints": {"a": {"protocol": "tcp", "port": 1}}}}"#,
        r#"["x = loop\u001bback", "x.a = tcp:1"]"#,
        r#""x = loopback\nx.a = tcp:1 \u001b[2J""#,
    ];
    for listen in listens {
        let json = format!(r#"{{"name": "svc", "listen": {listen}}}"#);
        let err = serde_json::from_str::<Config>(&json)
            .unwrap_err()
            .to_string();
        assert!(
            !err.contains(|c: char| c.is_control() && c != '\n'),
            "{listen}: {err:?}"
        );
        let err = serde_json::from_str::<SpecText>(listen).map_or_else(
            |e| e.to_string(),
            |text| {
                Layers::new()
                    .text("config", text)
                    .build()
                    .unwrap_err()
                    .to_string()
            },
        );
        assert!(
            !err.contains(|c: char| c.is_control() && c != '\n'),
            "{listen}: {err:?}"
        );
    }
}

/// A value of the wrong type in the table form says what the key takes,
/// never the name of a type inside the crate; a negative number is no
/// removal.
#[test]
fn a_table_value_of_the_wrong_type_says_what_its_key_takes() {
    let cases: &[(&str, &str)] = &[
        (
            "endpoints.a = { protocol = 'tcp', port = -1 }",
            "not a port: give a number from 0",
        ),
        (
            "endpoints.a = { protocol = 'tcp', port = 80.5 }",
            "not a port",
        ),
        (
            "endpoints.a = { protocol = 'tcp', port = 1, device = 1 }",
            "not a device: give true",
        ),
        (
            "endpoints.a = { protocol = 'unix', path = '/run/a.sock', owner = -1 }",
            "not a user or group",
        ),
        (
            "endpoints.a = { protocol = 'unix', path = '/run/a.sock', mode = true }",
            "not a mode",
        ),
    ];
    for (endpoint, says) in cases {
        let text = format!("name = 'svc'\n[listen.x]\nselect = 'loopback'\n{endpoint}");
        let err = toml::from_str::<Config>(&text).unwrap_err().to_string();
        assert!(err.contains(says), "{endpoint}: {err}");
        assert!(!err.contains("untagged enum"), "{endpoint}: {err}");
    }
    let err = toml::from_str::<Config>("name = 'svc'\n[listen.x]\nselect = 5")
        .unwrap_err()
        .to_string();
    assert!(err.contains("not selectors"), "{err}");
    let err = serde_json::from_str::<Config>(r#"{"name": "svc", "listen": -8080}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid value: integer `-8080`"), "{err}");
}

/// The table form's shape is checked key by key, in every format alike:
/// each refusal names the key, what it takes, and what was found.
#[test]
fn a_table_of_the_wrong_shape_names_the_key_and_what_it_takes() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"x": {"select": "loopback", "select": "lo"}}"#,
            "x: duplicate field `select`",
        ),
        (
            r#"{"x": {"select": "loopback", "endpoints": {"a": {"protocol": "tcp", "port": 1, "ports": 2}}}}"#,
            "x.endpoints.a: duplicate field `port`",
        ),
        (
            r#"{"x": {"expose": "local"}}"#,
            "x: missing field `select`: give the network's selectors, like select = \"127.0.0.1\"",
        ),
        (
            r#"{"x": {"select": "loopback", "endpoints": {"a": {"port": 1}}}}"#,
            "x.endpoints.a: missing field `protocol`: give one, like protocol = \"http\"",
        ),
        (
            r#"{"x": {"select": "loopback", "expose": true}}"#,
            "x.expose: invalid type: boolean `true`, expected a string, like expose = \"private\"",
        ),
        (
            r#"{"x": {"select": "loopback", "shared": "yes"}}"#,
            "x.shared: invalid type: string \"yes\", expected true or false",
        ),
        (
            r#"{"x": {"select": ["loopback", 5]}}"#,
            "x.select entry 2: invalid type: integer `5`, expected a selector as a string",
        ),
        (
            r#"{"x": 5}"#,
            "x: invalid type: integer `5`, expected a network: a table of select, expose, advertise, shared and endpoints",
        ),
        (
            r#"{"x": {"select": "loopback", "endpoints": {"a": "tcp:1"}}}"#,
            "x.endpoints.a: invalid type: string \"tcp:1\", expected an endpoint: a table of its keys",
        ),
        (
            r#"{"x": {"select": "loopback", "endpoints": {"a": {"protocol": "tcp", "port": 1, "backlog": -1}}}}"#,
            "x.endpoints.a.backlog: not a backlog: give the number of connections the kernel queues, like backlog = 1024 (found integer `-1`)",
        ),
        (
            r#"{"x": {"select": "loopback", "endpoints": {"a": {"protocol": "tcp", "port": 1, "backlog": 4294967296}}}}"#,
            "x.endpoints.a.backlog",
        ),
        (
            r#"{"x": {"select": "10.0.0.1,", "shared": true}}"#,
            "x.select: \"10.0.0.1,\" has an empty selector before or after a comma",
        ),
        (
            r#"{"x": {"select": ["10.0.0.1", "if:eth0,,lo"]}}"#,
            "x.select: \"if:eth0,,lo\" has an empty selector",
        ),
        (
            r#"{"x": {"select": {"a": 1}}}"#,
            "x.select: not selectors: give a selector or a list of selectors (found map)",
        ),
        (
            r#"{"x": {"select": []}}"#,
            "x.select: the list is empty; give at least one selector",
        ),
        (
            r#"{"x": {"select": "loopback", "endpoints": {"a": {"protocol": "unix", "path": "/run/a.sock", "mode": 18446744073709551615}}}}"#,
            "x.endpoints.a.mode: not a mode: write it as a string of octal digits",
        ),
        (
            r#"{"x": {"select": "loopback"}, "x": {"select": "lo"}}"#,
            "x: the network is given twice",
        ),
        (
            r#"{"x": {"select": "loopback", "endpoints": {"a": {"protocol": "tcp", "port": 1}, "a": {"protocol": "tcp", "port": 2}}}}"#,
            "x.endpoints.a: the endpoint is given twice",
        ),
        (
            r#"["x = loopback", 5]"#,
            "entry 2 of the listen list: invalid type: integer `5`, expected a spec line as a string",
        ),
        (
            r#"["127.0.0.1:8080", " "]"#,
            "entry 2 of the listen list is empty; give it a spec line, or remove it",
        ),
        (
            r#"{"x": {"select": "loopback", "exposé": "local"}}"#,
            "x: unknown field `exposé`, expected one of `select`, `expose`, `advertise`, `shared`, `endpoints` (did you mean expose?)",
        ),
    ];
    for (listen, says) in cases {
        let json = format!(r#"{{"name": "svc", "listen": {listen}}}"#);
        let err = serde_json::from_str::<Config>(&json)
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{listen}: {err} does not say {says:?}");
    }
    // A control character is no part of a word: refused under its key.
    let err = serde_json::from_str::<Config>(
        r#"{"name": "svc", "listen": {"x": {"select": "loop\u0007back"}}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("x.select: \"loop\\u{7}back\" must be one word"),
        "{err}"
    );
    // A value no spec form has (a YAML tag) says what a spec is.
    let err = serde_norway::from_str::<Config>("name: svc\nlisten: !tagged x\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expected a listen spec: a string of spec lines"),
        "{err}"
    );
    // A string of up to 64 bytes is echoed; a longer one is named by its
    // length, not echoed.
    for (len, found) in [
        (64, format!("string \"{}\"", "a".repeat(64))),
        (65, "a string of 65 bytes".to_owned()),
    ] {
        let err = serde_json::from_str::<Config>(&format!(
            r#"{{"name": "svc", "listen": {{"x": {{"select": "loopback", "shared": "{}"}}}}}}"#,
            "a".repeat(len)
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(&format!("invalid type: {found}, expected true or false")),
            "{err}"
        );
    }
    let long = "a".repeat(10_000);
    let err = serde_json::from_str::<Config>(&format!(
        r#"{{"name": "svc", "listen": {{"x": {{"select": "loopback", "shared": "{long}"}}}}}}"#
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("invalid type: a string of 10000 bytes, expected true or false")
            && err.len() < 200,
        "{err}"
    );
}

/// Nesting deeper than any spec goes is refused where it starts, before a
/// format's own depth limit (serde_json's is 128).
#[test]
fn a_table_nested_deeper_than_a_spec_goes_is_refused() {
    let deep = format!("{}\"a\"{}", "[".repeat(100), "]".repeat(100));
    let err = serde_json::from_str::<Config>(&format!(
        r#"{{"name": "svc", "listen": {{"x": {{"select": {deep}}}}}}}"#
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("nested more than 8 tables or lists deep"),
        "{err}"
    );
}

/// `null`, and YAML's key with no value, is the key left out, as serde's
/// `Option` fields read it.
#[test]
fn a_null_value_is_the_key_left_out() {
    let want = spec("x = 127.0.0.1\nx.a = tcp:1");
    let json = r#"{"name": "svc", "listen": {"x": {"select": "127.0.0.1", "expose": null, "advertise": null,
        "endpoints": {"a": {"protocol": "tcp", "port": 1, "path": null, "mode": null, "device": null}}}}}"#;
    let config: Config = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.listen, want);
    let yaml = "name: svc\nlisten:\n  x:\n    select: 127.0.0.1\n    advertise:\n    endpoints:\n      a: {protocol: tcp, port: 1, stale: ~}\n";
    let config: Config = serde_norway::from_str(yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.listen, want);
}

/// An error in one network's or endpoint's table is told at that table:
/// the format's own location points there, not at the first network.
#[test]
fn a_table_error_points_at_its_own_table() {
    let text = "name = 'svc'\n[listen.public]\nselect = '127.0.0.1'\nendpoints.http = { protocol = 'http', port = 8080 }\n\n[listen.ops]\nselect = 'loopback'\nendpoints.metrics = { protocol = 'http', port = 9100, backlog = -5 }\n";
    let err = toml::from_str::<Config>(text).unwrap_err().to_string();
    assert!(err.starts_with("TOML parse error at line 8,"), "{err}");
    assert!(
        err.contains("ops.endpoints.metrics.backlog: not a backlog"),
        "{err}"
    );
    let text =
        "name = 'svc'\n[listen.public]\nselect = '127.0.0.1'\n\n[listen.ops]\nselct = 'loopback'\n";
    let err = toml::from_str::<Config>(text).unwrap_err().to_string();
    assert!(err.starts_with("TOML parse error at line 5,"), "{err}");
    assert!(err.contains("ops: unknown field `selct`"), "{err}");
    let yaml = "name: svc\nlisten:\n  public:\n    select: 127.0.0.1\n  ops:\n    select: loopback\n    endpoints:\n      metrics: {protocol: http, port: 9100, backlog: -5}\n";
    let err = serde_norway::from_str::<Config>(yaml)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 8"), "{err}");
}

/// However large the table, its error stays short: a name is at most 64
/// bytes and echoed by its start, and a table of many bad endpoints lists
/// the first 100 of their errors.
#[test]
fn a_huge_table_gives_a_short_error() {
    let name = "n".repeat(1 << 20);
    let json = format!(r#"{{"name": "svc", "listen": {{"{name}": {{"expose": "local"}}}}}}"#);
    let err = serde_json::from_str::<Config>(&json)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("is 1048576 bytes long; a name is at most 64 bytes"),
        "{err}"
    );
    assert!(err.len() < 1024, "{} bytes", err.len());
    // At the limit, a name is read; one byte more is refused by its length.
    for (len, ok) in [(64, true), (65, false)] {
        let json = format!(
            r#"{{"name": "svc", "listen": {{"{}": {{"select": "loopback"}}}}}}"#,
            "n".repeat(len)
        );
        let read = serde_json::from_str::<Config>(&json);
        assert_eq!(read.is_ok(), ok, "{len}: {:?}", read.err());
    }
    let endpoints: Vec<String> = (0..1000)
        .map(|i| format!(r#""e{i}": {{"protocol": "ftp", "port": 1}}"#))
        .collect();
    let json = format!(
        r#"{{"name": "svc", "listen": {{"x": {{"select": "loopback", "endpoints": {{{}}}}}}}}}"#,
        endpoints.join(", ")
    );
    let err = serde_json::from_str::<Config>(&json)
        .unwrap_err()
        .to_string();
    assert!(err.contains("the listen table has 1000 errors:"), "{err}");
    assert!(err.contains("… and 900 more errors, not shown"), "{err}");
    assert!(err.len() < 100 * 1024, "{} bytes", err.len());
}

/// Reading a table is linear in its size: 100,000 endpoints, each checked
/// for a name given twice, read in seconds.
#[test]
fn a_table_of_many_endpoints_is_read_in_linear_time() {
    let endpoints: Vec<String> = (0..100_000)
        .map(|i| format!(r#""e{i}": {{"protocol": "tcp", "port": 0}}"#))
        .collect();
    let json = format!(
        r#"{{"x": {{"select": "loopback", "endpoints": {{{}}}}}}}"#,
        endpoints.join(", ")
    );
    let started = std::time::Instant::now();
    let text: SpecText = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(text.as_str().lines().count(), 100_001);
    // A generous bound: a quadratic check takes minutes here.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

/// A TOML date and time is named as one, wherever it stands.
#[test]
fn a_toml_date_is_named_as_one() {
    let err = toml::from_str::<Config>("name = 'svc'\nlisten = 1979-05-27T07:32:00Z")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("invalid type: a date and time, expected a listen spec"),
        "{err}"
    );
    let err = toml::from_str::<Config>(
        "name = 'svc'\n[listen.x]\nselect = 'loopback'\nendpoints.a = { protocol = 'tcp', port = 1979-05-27 }",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("x.endpoints.a.port: not a port"), "{err}");
    assert!(err.contains("(found a date and time)"), "{err}");
}

/// `select = "127.0.0.1, ::1"` is the text grammar's list, as a spec line
/// writes it after `NAME =`: each selector taken, as from a TOML list.
#[test]
fn a_select_string_may_list_selectors_with_commas() {
    let list: Config = toml::from_str(
        "name = 'svc'\n[listen.x]\nselect = ['127.0.0.1', '::1', '!if:eth9']\nendpoints.a = { protocol = 'tcp', port = 1 }",
    )
    .unwrap();
    for select in ["'127.0.0.1, ::1, !if:eth9'", "'127.0.0.1,::1 , !if:eth9'"] {
        let text: Config = toml::from_str(&format!(
            "name = 'svc'\n[listen.x]\nselect = {select}\nendpoints.a = {{ protocol = 'tcp', port = 1 }}"
        ))
        .unwrap();
        assert_eq!(text, list, "{select}");
    }
    assert_eq!(
        list.listen.to_string(),
        "x = 127.0.0.1, ::1, !if:eth9\nx.a = tcp:1\n"
    );
}
