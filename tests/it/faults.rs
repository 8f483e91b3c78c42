//! The fault matrix (#17): each row injects one fault into a lab and asserts that every face
//! that applies — the engine's hub (what the TUI draws), `up --json`, the stdio bridge Claude
//! Code talks to — says the same phase, cause and fix, word for word; then, where the fault can
//! end, that every face serves again. How long each face took to tell is printed (see the
//! closing note of #17 and README's troubleshooting table), never asserted.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mcp_connect::lab::kube::seed::NAMESPACE;
use mcp_connect::lab::world::{Lab, LabOptions};
use mcp_connect::trouble::Trouble;

use crate::support::bridge::{KUBE_SECRET, profile};
use crate::support::faces::{BridgeFace, HubFace, Place, Said, UpFace};
use crate::support::{Home, free_port};
use crate::up_cli::{plugin_kubeconfig, with_plugin};

/// Hang guards: a face that says nothing within this fails the row.
const WITHIN: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    NoReadyPod,
    ServiceMissing,
    PortMissing,
    BackendDead,
    ApiRefusing,
    ApiHanging,
    CredentialsRejected,
    RbacDenied,
    PluginFailing,
    PluginMissing,
    PluginStopsMidRun,
    PortBusy,
    SelfSigned,
    WrongClaim,
    RouterSelfSigned,
    RouterSecretUnset,
    RouterGatewaysDown,
}

/// One row: the fault, when it strikes, what every face must say, and whether it ends.
struct Row {
    fault: Fault,
    /// It strikes once every face serves (else before they start).
    mid_run: bool,
    phase: &'static str,
    cause: &'static str,
    fix: &'static str,
    /// The fault can be ended, and every face must serve again.
    heals: bool,
    /// The bridge answers with the route's words (a port already taken is, to the bridge, a
    /// link something else runs: it relays to it).
    bridge: bool,
}

/// A lab, a home with user profiles, and what the row needs of them.
struct World {
    lab: Lab,
    home: Home,
    profiles: PathBuf,
    kubeconfig: PathBuf,
    /// A port held for the row that needs one taken.
    busy: Option<std::net::TcpListener>,
    /// The file whose existence lets the credential plugin log in.
    plugin_ok: Option<PathBuf>,
}

impl World {
    async fn new() -> World {
        let lab = Lab::start(LabOptions::default()).await.unwrap();
        let home = Home::new();
        let profiles = home.user_profiles();
        let kubeconfig = lab.kubeconfig().to_path_buf();
        World { lab, home, profiles, kubeconfig, busy: None, plugin_ok: None }
    }

    fn place(&self) -> Place<'_> {
        let (profiles, kubeconfig) = (self.profiles.clone(), self.kubeconfig.clone());
        Place { home: &self.home, profiles, kubeconfig }
    }

    /// Writes a user profile `name` made from the built-in gateway route with `link` and
    /// `secret`, the lab gateway's certificate pinned.
    fn gateway_profile(&self, name: &str, link: &str, secret: &str) {
        self.gateway_profile_with(name, link, secret, |yaml| yaml);
    }

    /// As [`World::gateway_profile`], with `change` made to the YAML.
    fn gateway_profile_with(
        &self,
        name: &str,
        link: &str,
        secret: &str,
        change: impl Fn(String) -> String,
    ) {
        let pin = &self.lab.gateway.fingerprint_sha256;
        let yaml = change(profile(name, link, secret, "1h", pin));
        std::fs::write(self.profiles.join(format!("{name}.yaml")), yaml).unwrap();
    }

    /// The route the row runs, written as a user profile when no built-in fits.
    fn route(&mut self, fault: Fault) -> &'static str {
        let router = |gateway: &str| {
            format!(
                "link:\n  router:\n    local_port: 8080\n    gateway_pools:\n      - name: lab\n        \
                 gateways:\n          - url: {gateway}\n"
            )
        };
        match fault {
            Fault::ServiceMissing => {
                let yaml = include_str!("../../profiles/serena-direct.yaml")
                    .replace("name: serena-direct", "name: serena-gone")
                    .replace("service: serena-mcp", "service: serena-gone");
                std::fs::write(self.profiles.join("serena-gone.yaml"), yaml).unwrap();
                "serena-gone"
            }
            Fault::PortMissing => {
                let yaml = include_str!("../../profiles/serena-direct.yaml")
                    .replace("name: serena-direct", "name: serena-9999")
                    .replace("remote_port: 8080", "remote_port: 9999");
                std::fs::write(self.profiles.join("serena-9999.yaml"), yaml).unwrap();
                "serena-9999"
            }
            Fault::SelfSigned => "gateway-port-forward",
            Fault::WrongClaim => {
                // A token whose `iss` is not the one the gateway checks for.
                let link = crate::support::bridge::forward_link(8443);
                self.gateway_profile_with("wrong-issuer", &link, KUBE_SECRET, |yaml| {
                    yaml.replace("    issuer: mcp-gateway\n", "    issuer: seed-gateway\n")
                });
                "wrong-issuer"
            }
            Fault::RouterSelfSigned => {
                let link = router(&self.lab.gateway.url);
                let pin = format!("  pin_sha256: \"{}\"\n", self.lab.gateway.fingerprint_sha256);
                self.gateway_profile_with("lab-router", &link, KUBE_SECRET, |yaml| {
                    yaml.replace(&pin, "")
                });
                "lab-router"
            }
            Fault::RouterSecretUnset => {
                let link = router(&self.lab.gateway.url);
                self.gateway_profile("lab-router", &link, "{env: JWT_SECRET_KEY}");
                "lab-router"
            }
            Fault::RouterGatewaysDown => {
                let link = router(&format!("https://127.0.0.1:{}", free_port()));
                self.gateway_profile("lab-router", &link, KUBE_SECRET);
                "lab-router"
            }
            _ => "serena-direct",
        }
    }

    fn serena_pod(&self) -> String {
        self.lab.serena_pod().expect("Serena's pod")
    }

    async fn inject(&mut self, fault: Fault) {
        match fault {
            Fault::NoReadyPod => {
                let pod = self.serena_pod();
                self.lab.cluster().set_ready(NAMESPACE, &pod, false).unwrap();
            }
            Fault::BackendDead => self.lab.stop_backend().await,
            Fault::ApiRefusing => self.lab.api.stop(),
            Fault::ApiHanging => {
                // Something takes the connection and never answers: a half-up VPN, a proxy.
                let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let server = format!("https://{}", silent.local_addr().unwrap());
                std::mem::forget(silent);
                let text = std::fs::read_to_string(&self.kubeconfig).unwrap();
                let text = text.replace(&self.lab.api.url(), &server);
                self.kubeconfig = self.home.write("kube/silent", &text);
            }
            Fault::CredentialsRejected => {
                let text = std::fs::read_to_string(&self.kubeconfig).unwrap();
                let token = text.lines().find_map(|l| l.trim().strip_prefix("token: ")).unwrap();
                let text = text.replace(token, "a-token-the-cluster-never-issued");
                self.kubeconfig = self.home.write("kube/stale", &text);
            }
            Fault::RbacDenied => self.lab.api.faults().deny("create", "pods/portforward"),
            Fault::PluginFailing => {
                let script = "#!/bin/sh\necho 'error: the SSO session has expired' >&2\nexit 1\n";
                let plugin = self.executable("bin/sso-login", script);
                let text = plugin_kubeconfig(plugin.to_str().unwrap());
                self.kubeconfig = self.home.write("kube/plugin-fails", &text);
            }
            Fault::PluginMissing => {
                let text = plugin_kubeconfig("mcp-connect-no-such-plugin");
                self.kubeconfig = self.home.write("kube/plugin-missing", &text);
            }
            Fault::PluginStopsMidRun => {
                let _ = std::fs::remove_file(self.plugin_ok.as_ref().unwrap());
            }
            Fault::PortBusy => {
                self.busy = Some(std::net::TcpListener::bind("127.0.0.1:0").unwrap());
            }
            // In the route itself.
            Fault::ServiceMissing
            | Fault::PortMissing
            | Fault::SelfSigned
            | Fault::WrongClaim
            | Fault::RouterSelfSigned
            | Fault::RouterSecretUnset
            | Fault::RouterGatewaysDown => {}
        }
    }

    async fn heal(&mut self, fault: Fault) {
        match fault {
            Fault::NoReadyPod => {
                let pod = self.serena_pod();
                self.lab.cluster().set_ready(NAMESPACE, &pod, true).unwrap();
            }
            Fault::BackendDead => self.lab.start_backend().await.unwrap(),
            Fault::ApiRefusing => self.lab.api.restart(Duration::ZERO).await.unwrap(),
            other => panic!("{other:?} does not heal"),
        }
    }

    fn executable(&self, relative: &str, script: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.home.write(relative, script);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// The local ports of the hub, `up` and the bridge.
    fn ports(&self) -> [u16; 3] {
        match &self.busy {
            Some(busy) => [busy.local_addr().unwrap().port(); 3],
            None => [free_port(), free_port(), free_port()],
        }
    }
}

/// The faces, running.
struct Faces {
    hub: HubFace,
    up: UpFace,
    bridge: Option<BridgeFace>,
}

fn must(face: &str, said: Result<Said, Vec<Said>>, want: &str) -> Said {
    said.unwrap_or_else(|seen| panic!("{face} never said {want}; it said {seen:#?}"))
}

/// `trouble` with the face's own local port written `LOCAL`: each face runs its link on a port
/// of its own, so a cause naming the local URL differs by that alone.
fn local(trouble: Trouble, port: u16) -> Trouble {
    let (own, any) = (format!("127.0.0.1:{port}"), "127.0.0.1:LOCAL");
    Trouble::new(trouble.cause.replace(&own, any), trouble.fix.replace(&own, any))
}

fn has_trouble(phase: &'static str) -> impl Fn(&Said) -> bool {
    move |said| said.is(phase) && said.trouble.is_some()
}

/// Asks the bridge until it answers `method` with an error (the route's words), at most a
/// handful of times: a request already under way may still have gone through.
fn bridge_trouble(bridge: &mut BridgeFace, method: &str) -> Trouble {
    for _ in 0..5 {
        if let Some(trouble) = bridge.ask(method) {
            return trouble;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("the bridge kept answering {method}; its stderr:\n{}", bridge.stderr())
}

async fn check(row: Row) {
    let mut world = World::new().await;
    let name = world.route(row.fault);
    if row.fault == Fault::PluginStopsMidRun {
        let ok = world.home.write("plugin-ok", "");
        world.kubeconfig = with_plugin(&world.home, &world.lab, &ok);
        world.plugin_ok = Some(ok);
    }
    if !row.mid_run {
        world.inject(row.fault).await;
    }
    let [hub_port, up_port, bridge_port] = world.ports();
    let started = Instant::now();
    let place = world.place();
    let mut faces = Faces {
        hub: HubFace::start(&place, name, hub_port).await,
        up: UpFace::start(&place, name, up_port),
        bridge: row.bridge.then(|| BridgeFace::start(&place, name, bridge_port)),
    };
    let mut since = started;
    if row.mid_run {
        must("the hub", faces.hub.until(WITHIN, |s| s.is("serving")).await, "serving");
        must("up", faces.up.until(WITHIN, |s| s.is("serving")).await, "serving");
        if let Some(bridge) = faces.bridge.as_mut() {
            let answered = tokio::task::block_in_place(|| bridge.ask("initialize"));
            assert_eq!(answered, None, "the bridge serves before the fault");
        }
        drop(place);
        world.inject(row.fault).await;
        since = Instant::now();
    } else {
        drop(place);
    }

    let want = format!("{} with a cause", row.phase);
    let hub = must("the hub", faces.hub.until(WITHIN, has_trouble(row.phase)).await, &want);
    let hub_took = since.elapsed();
    let up = must("up", faces.up.until(WITHIN, has_trouble(row.phase)).await, &want);
    let up_took = since.elapsed();
    let trouble = local(hub.trouble.clone().unwrap(), hub_port);
    assert!(trouble.cause.contains(row.cause), "{:?}: cause {:?}", row.fault, trouble.cause);
    assert!(trouble.fix.contains(row.fix), "{:?}: fix {:?}", row.fault, trouble.fix);
    assert_eq!(up.phase, hub.phase, "{:?}: up and the hub say the same phase", row.fault);
    let up_trouble = up.trouble.map(|t| local(t, up_port));
    assert_eq!(up_trouble.as_ref(), Some(&trouble), "{:?}: up says what the hub says", row.fault);
    // `d` reasons over the route as it stands: the same words.
    let diagnosed = faces.hub.diagnose(WITHIN).await.map(|t| local(t, hub_port));
    assert_eq!(diagnosed.as_ref(), Some(&trouble), "{:?}: `d` says what the hub says", row.fault);
    let mut timings = format!("hub {hub_took:.2?}, up {up_took:.2?}");
    if let Some(bridge) = faces.bridge.as_mut() {
        let method = if row.mid_run { "tools/list" } else { "initialize" };
        let asked = Instant::now();
        let said =
            local(tokio::task::block_in_place(|| bridge_trouble(bridge, method)), bridge_port);
        assert_eq!(said, trouble, "{:?}: the bridge says what the hub says", row.fault);
        timings += &format!(", bridge answered {:.2?} after asking", asked.elapsed());
    }
    eprintln!("fault {:?} → {} ({timings}): {trouble}", row.fault, row.phase);

    if row.heals {
        world.heal(row.fault).await;
        let healed = Instant::now();
        must("the hub", faces.hub.until(WITHIN, |s| s.is("serving")).await, "serving again");
        must("up", faces.up.until(WITHIN, |s| s.is("serving")).await, "serving again");
        if let Some(bridge) = faces.bridge.as_mut() {
            let method = if row.mid_run { "tools/list" } else { "initialize" };
            let answered = tokio::task::block_in_place(|| {
                let mut answered = bridge.ask(method);
                for _ in 0..20 {
                    if answered.is_none() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(300));
                    answered = bridge.ask(method);
                }
                answered
            });
            assert_eq!(answered, None, "the bridge serves again: {}", bridge.stderr());
        }
        eprintln!(
            "fault {:?} healed: every face serving {:.2?} later",
            row.fault,
            healed.elapsed()
        );
    }
    faces.up.stop().await;
}

macro_rules! rows {
    ($($test:ident: $row:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            check($row).await;
        }
    )*};
}

rows! {
    no_ready_pod: Row {
        fault: Fault::NoReadyPod, mid_run: false, phase: "waiting",
        cause: "waiting for a Ready pod of svc/serena-mcp in mcp",
        fix: "kubectl get pods -n mcp -l app=serena-mcp", heals: true, bridge: true,
    };
    service_missing: Row {
        fault: Fault::ServiceMissing, mid_run: false, phase: "failed",
        cause: "svc/serena-gone does not exist in namespace mcp",
        fix: "kubectl get svc -n mcp", heals: false, bridge: true,
    };
    service_port_missing: Row {
        fault: Fault::PortMissing, mid_run: false, phase: "failed",
        cause: "svc/serena-mcp has no port 9999 (it has 8080/http",
        fix: "set the profile's remote_port to one of the Service's ports", heals: false,
        bridge: true,
    };
    backend_dead_behind_a_ready_pod: Row {
        fault: Fault::BackendDead, mid_run: true, phase: "down",
        cause: "is Ready, but nothing answers on its port 8080", fix: "kubectl delete pod -n mcp",
        heals: true, bridge: true,
    };
    api_server_refusing: Row {
        fault: Fault::ApiRefusing, mid_run: false, phase: "down",
        cause: "cannot reach the API server https://127.0.0.1:", fix: "cluster-info",
        heals: true, bridge: true,
    };
    api_server_hanging: Row {
        fault: Fault::ApiHanging, mid_run: false, phase: "down",
        cause: "did not answer within 3 s", fix: "cluster-info", heals: false, bridge: true,
    };
    credentials_rejected: Row {
        fault: Fault::CredentialsRejected, mid_run: false, phase: "failed",
        cause: "rejected the credentials in the kubeconfig (401 Unauthorized)",
        fix: "log in again", heals: false, bridge: true,
    };
    rbac_denial: Row {
        fault: Fault::RbacDenied, mid_run: false, phase: "failed",
        cause: "the cluster denied `create` on pods/portforward in namespace mcp",
        fix: "kubectl auth can-i create pods/portforward -n mcp", heals: false, bridge: true,
    };
    credential_plugin_failing: Row {
        fault: Fault::PluginFailing, mid_run: false, phase: "failed",
        cause: "error: the SSO session has expired", fix: "yourself to see why",
        heals: false, bridge: true,
    };
    credential_plugin_missing: Row {
        fault: Fault::PluginMissing, mid_run: false, phase: "failed",
        cause: "is not installed (not on PATH)", fix: "install `mcp-connect-no-such-plugin`",
        heals: false, bridge: true,
    };
    credential_plugin_starts_failing_mid_run: Row {
        fault: Fault::PluginStopsMidRun, mid_run: true, phase: "failed",
        cause: "error: the SSO session has expired", fix: "yourself to see why",
        heals: false, bridge: true,
    };
    local_port_busy: Row {
        fault: Fault::PortBusy, mid_run: false, phase: "failed",
        cause: "is already in use by pid", fix: "the next free port", heals: false,
        bridge: false,
    };
    gateway_self_signed_on_route_2: Row {
        fault: Fault::SelfSigned, mid_run: false, phase: "down",
        cause: "self-signed", fix: "mcp-connect trust gateway-port-forward", heals: false,
        bridge: true,
    };
    gateway_refuses_the_token_for_a_claim: Row {
        fault: Fault::WrongClaim, mid_run: false, phase: "down",
        cause: "its `iss` is \"seed-gateway\"", fix: "set auth.jwt.issuer in profile wrong-issuer",
        heals: false, bridge: true,
    };
    gateway_self_signed_behind_the_router: Row {
        fault: Fault::RouterSelfSigned, mid_run: false, phase: "down",
        cause: "self-signed", fix: "pin_sha256", heals: false, bridge: true,
    };
    router_without_jwt_secret_key: Row {
        fault: Fault::RouterSecretUnset, mid_run: false, phase: "down",
        cause: "environment variable JWT_SECRET_KEY is not set", fix: "export JWT_SECRET_KEY",
        heals: false, bridge: true,
    };
    router_with_every_gateway_down: Row {
        fault: Fault::RouterGatewaysDown, mid_run: false, phase: "down",
        cause: "(down: nothing is listening at 127.0.0.1:",
        fix: "start the gateway (or the port-forward to it), or correct its URL in profile lab-router",
        heals: false, bridge: true,
    };
}

/// A pod deleted with a replacement turning Ready: every face follows it to the new pod, and
/// none calls the switch a wrong path or transport.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_deleted_with_a_replacement_is_followed_on_every_face() {
    let world = World::new().await;
    let [hub_port, up_port, bridge_port] = world.ports();
    let place = world.place();
    let mut hub = HubFace::start(&place, "serena-direct", hub_port).await;
    let mut up = UpFace::start(&place, "serena-direct", up_port);
    let mut bridge = BridgeFace::start(&place, "serena-direct", bridge_port);
    let serving = |s: &Said| s.is("serving");
    must("the hub", hub.until(WITHIN, serving).await, "serving");
    must("up", up.until(WITHIN, serving).await, "serving");
    assert_eq!(tokio::task::block_in_place(|| bridge.ask("initialize")), None);

    let old = world.serena_pod();
    world.lab.cluster().delete_pod(NAMESPACE, &old).unwrap();
    let deleted = Instant::now();
    // Serving again on another pod; whatever was said on the way names the link.
    let told = |s: &Said| s.trouble.is_some() || s.is("serving");
    let guesses = ["/sse", "not as an MCP server", "legacy"];
    let hub_said = must("the hub", hub.until(WITHIN, told).await, "trouble or serving");
    let up_said = must("up", up.until(WITHIN, told).await, "trouble or serving");
    // A fast replacement may leave no trouble to see; any there was names the pod, and the
    // face serves again after it.
    if let Some(trouble) = hub_said.trouble {
        assert!(guesses.iter().all(|g| !trouble.cause.contains(g)), "the hub: {trouble}");
        assert!(trouble.cause.contains("pod"), "the hub names the link: {trouble}");
        must("the hub", hub.until(WITHIN, |s| s.is("serving")).await, "serving again");
    }
    if let Some(trouble) = up_said.trouble {
        assert!(guesses.iter().all(|g| !trouble.cause.contains(g)), "up: {trouble}");
        assert!(trouble.cause.contains("pod"), "up names the link: {trouble}");
        must("up", up.until(WITHIN, |s| s.is("serving")).await, "serving again");
    }
    let answered = tokio::task::block_in_place(|| bridge.ask("tools/list"));
    assert_eq!(answered, None, "the bridge carries requests to the new pod: {}", bridge.stderr());
    assert_ne!(world.serena_pod(), old, "a replacement serves");
    eprintln!("pod deleted: every face serving again {:.2?} later", deleted.elapsed());
    up.stop().await;
}
