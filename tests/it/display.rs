//! `Display` of `Plan` and `Bound`: the doctor's table, as a server logs it.

use listenspec::{Host, ListenSpec, Plan};

fn host() -> Host {
    Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
        .interface("eth0", 2, ["203.0.113.5/24"])
        .interface("eth2", 3, ["198.51.100.7/24"])
        .build()
        .unwrap()
}

fn plan(spec: &str) -> Plan {
    let spec: ListenSpec = spec.parse().unwrap();
    spec.plan(&host()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_plan_prints_as_the_doctors_table_then_its_warnings() {
    let plan = plan(
        "public      = *         advertise https://my-awesome-service
         ops         = if:eth2
         spare       = 127.0.0.1 expose=local
         public.http = http:8080
         public.grpc = tcp:9000-9010 advertise grpc.example.com
         ops.metrics = http:0    device",
    );
    let want = "\
ENDPOINT     PROTO  BIND               ADVERTISE                      WHY
public.http  http   0.0.0.0:8080       https://my-awesome-service/    *: wildcard
                    [::]:8080                                         *: wildcard
public.grpc  tcp    0.0.0.0:9000-9010  tcp://grpc.example.com:<port>  *: wildcard
                    [::]:9000-9010                                    *: wildcard
ops.metrics  http   198.51.100.7:0     http://198.51.100.7:<port>/    if:eth2 matched eth2 198.51.100.7/24, device eth2

warning: network spare: has no endpoints, so nothing listens on it
  fix: add an endpoint (`NET.NAME = tcp:PORT`) or remove the network";
    assert_eq!(plan.to_string(), want, "\n{plan}");
}

#[test]
fn a_bound_plan_prints_its_real_ports_and_keeps_the_warnings() {
    let plan = plan(
        "local     = loopback expose=local
         spare     = 127.0.0.2 expose=local
         local.web = http:0",
    );
    let bound = plan.bind_inherited(Vec::new()).unwrap();
    assert_eq!(bound.warnings(), plan.warnings());
    assert_eq!(bound.warnings().len(), 1);

    let port = bound.endpoint("local", "web").unwrap().port().unwrap();
    let v4 = format!("127.0.0.1:{port}");
    let v6 = format!("[::1]:{port}");
    let url = format!("http://127.0.0.1:{port}/");
    // The columns are as wide as the port's digits make them.
    let w = v4.len().max("BOUND".len());
    let u = url.len();
    let want = format!(
        "\
ENDPOINT   PROTO  {:w$}  {:u$}  WHY
local.web  http   {v4:w$}  {url}  loopback matched lo 127.0.0.1/8
                  {v6:w$}  {:u$}  loopback matched lo ::1/128

warning: network spare: has no endpoints, so nothing listens on it
  fix: add an endpoint (`NET.NAME = tcp:PORT`) or remove the network",
        "BOUND", "ADVERTISE", ""
    );
    assert_eq!(bound.to_string(), want, "\n{bound}");
}

#[test]
fn a_plan_without_warnings_is_the_table_alone() {
    let plan = plan("local = 127.0.0.1 expose=local\nlocal.a = udp:53");
    assert_eq!(
        plan.to_string(),
        "\
ENDPOINT  PROTO  BIND          ADVERTISE           WHY
local.a   udp    127.0.0.1:53  udp://127.0.0.1:53  127.0.0.1 matched lo 127.0.0.1/8"
    );
}

#[test]
fn a_column_wider_than_any_format_width_still_lines_up() {
    // Format widths stop at 65,535 and panic past it; a name is at most 64
    // bytes, but an advertised URL's path is as long as written.
    let path = "p".repeat(70_000);
    let plan = plan(&format!(
        "local = 127.0.0.1 expose=local advertise http://svc/{path}\nlocal.x = http:1"
    ));
    let text = plan.to_string();
    let mut lines = text.lines();
    let (header, row) = (lines.next().unwrap(), lines.next().unwrap());
    assert!(row.starts_with("local.x "), "{row:.100}");
    assert_eq!(header.find("PROTO"), row.find("http"), "columns line up");
    assert_eq!(header.find("WHY"), row.find("127.0.0.1 matched"));
}

#[cfg(unix)] // socket activation (Inherited::new) is Unix's
#[test]
fn a_socket_passed_in_says_so_in_its_row() {
    use listenspec::bind::Inherited;

    let given = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = given.local_addr().unwrap();
    let plan = plan(&format!(
        "local = 127.0.0.1 expose=local\nlocal.web = tcp:{}",
        addr.port()
    ));
    let inherited = Inherited::new("local.web", socket2::Socket::from(given));
    let bound = plan.bind_inherited(vec![inherited]).unwrap();
    let text = bound.to_string();
    let row = text.lines().nth(1).unwrap();
    assert!(
        row.starts_with(&format!("local.web  tcp    {addr}  tcp://{addr}  ")),
        "{text}"
    );
    assert!(
        row.ends_with("127.0.0.1 matched lo 127.0.0.1/8, inherited local.web"),
        "{text}"
    );
}

/// `[::]:PORT`, as std binds it on Linux (the host's OS, whatever this
/// build's), takes IPv4 too, and the table says so; `[::]` written in the
/// grammar stays IPv6 only.
#[test]
fn a_dual_stack_socket_says_so() {
    let dual = plan("[::]:8080").to_string();
    let row = dual.lines().find(|l| l.contains("[::]:8080")).unwrap();
    assert!(
        row.ends_with("::: wildcard, dual-stack (IPv4 too)"),
        "{dual}"
    );
    let v6 = plan("listen = :: expose=public; listen.tcp = tcp:8080").to_string();
    assert!(!v6.contains("dual-stack"), "{v6}");
}

/// `{:?}` of the errors a server's `main` returns is their message, so
/// `main` returning one prints the fix; `{:#?}` is the fields.
#[test]
fn an_errors_debug_is_its_message_and_the_alternate_its_fields() {
    let spec: ListenSpec = "ops = if:nosuch0\nops.metrics = http:0".parse().unwrap();
    let err = spec.plan(&host()).unwrap_err();
    assert_eq!(format!("{err:?}"), err.to_string());
    let fields = format!("{err:#?}");
    assert!(fields.starts_with("PlanError {\n    errors: ["), "{fields}");
    assert!(fields.contains("UnknownInterface"), "{fields}");
    let err = listenspec::Error::Plan(err);
    assert_eq!(format!("{err:?}"), err.to_string());
    assert!(format!("{err:#?}").starts_with("Plan(\n    PlanError {"));
    let err = "x.a = tcp:1".parse::<ListenSpec>().unwrap_err();
    assert_eq!(format!("{err:?}"), err.to_string());
    assert!(format!("{err:#?}").starts_with("SpecError {"));
}

/// A plan of many warnings prints the first 100 and how many more, as an
/// error of many problems does; `warnings()` has them all.
#[test]
fn a_plan_of_many_warnings_prints_a_hundred_and_counts_the_rest() {
    // 150 interfaces, each with a tentative address.
    let mut b = Host::builder();
    for i in 1..=150u32 {
        let addr = format!("2001:db8::{i:x}");
        b = b
            .interface(&format!("eth{i}"), i + 1, [format!("{addr}/64").as_str()])
            .addr_flags(&addr, listenspec::host::AddrFlags::TENTATIVE);
    }
    let host = b.build().unwrap();
    let spec: ListenSpec = "x = if:eth*\nx.a = tcp:1".parse().unwrap();
    let plan = spec.plan(&host).unwrap();
    // One per interface with a tentative address, and two about the
    // endpoint: no `device` on a private network, and the advertised
    // address's choice.
    assert_eq!(plan.warnings().len(), 152);
    let text = plan.to_string();
    assert_eq!(text.matches("\nwarning: ").count(), 101, "{text}");
    assert!(
        text.ends_with("\nwarning: … and 52 more warnings, not shown"),
        "{text}"
    );
}

/// The bind's error too, as the README says: `main` returning a
/// `BindError` (or `listenspec::Error::Bind`) prints its message, every
/// fix included, not its nested fields.
#[test]
fn a_bind_errors_debug_is_its_message_and_the_alternate_its_fields() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let spec: ListenSpec = format!("local = 127.0.0.1 expose=local\nlocal.web = http:{port}")
        .parse()
        .unwrap();
    let err = plan_on_lo(&spec).bind_inherited(Vec::new()).unwrap_err();
    assert_eq!(format!("{err:?}"), err.to_string());
    assert!(err.to_string().contains("fix: "), "{err}");
    assert!(
        format!("{err:#?}").starts_with("BindError {\n    failures: ["),
        "{err:#?}"
    );
    let err = listenspec::Error::Bind(err);
    assert_eq!(format!("{err:?}"), err.to_string());
}

fn plan_on_lo(spec: &ListenSpec) -> Plan {
    let host = crate::loopback_host();
    spec.plan(&host).unwrap()
}
