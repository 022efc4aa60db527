#include "cli/up/mesh_runner.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "cli/host/host_network.h"
#include "cli/up/teardown.h"
#include "identity/ca_init.h"

extern char** environ;

namespace lmesh::up {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Readiness is polled: often while the mesh comes up (it is most of the start-up time),
// then at a pace that costs nothing.
constexpr auto kStartTick = 50ms;
constexpr auto kTick = 250ms;
constexpr auto kStopTick = 100ms;
constexpr auto kControllerReadyTimeout = 30s;
constexpr auto kPodGrace = 1s;        // endpoints leave the destination before SIGTERM
constexpr auto kTerminateKill = 10s;  // then SIGKILL
constexpr auto kControllerKill = 5s;
constexpr char kTapTokenFile[] = "tap";

std::string random_token() {
  unsigned char bytes[16];
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

// Written whole to a temporary file and renamed over `path`: lmesh-destination and
// lmesh-identity re-read these files when they change and must never see half of one.
Result<void> replace_file(const std::string& path, const std::string& text, mode_t mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fail(ErrorCode::kIo, "cannot write " + tmp + ": " + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fchmod(fd, mode) == 0 && ok;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(ErrorCode::kIo, "cannot write " + path + ": " + std::strerror(errno));
  }
  return {};
}

std::string tail_of(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += "    " + all[i] + "\n";
  }
  return out;
}

// Whether pods made from `a` may stand for pods of `b`: everything but the replica count.
bool same_pod_template(WorkloadSpec a, const WorkloadSpec& b) {
  a.replicas = b.replicas;
  return a == b;
}

// Whether `ip:port` can be bound now (SO_REUSEADDR, as the controllers bind).
bool port_free(const char* ip, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;  // cannot tell: let the controller's own bind say it
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, ip, &addr.sin_addr);
  bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return free;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

MeshRunner::MeshRunner(UpOptions options) : options_(std::move(options)) {}

MeshRunner::~MeshRunner() = default;

int MeshRunner::run() {
  started_at_ = Clock::now();
  if (auto ok = prepare(); !ok) {
    std::fprintf(stderr, "lmesh up: %s\n", ok.error().describe().c_str());
    // Undo what this run made, unless nothing was recorded: the state directory may then be
    // another, running mesh's.
    if (state_written_) teardown(state_, options_.state_dir, nullptr);
    return 1;
  }
  if (auto ok = start_controllers(); !ok) {
    std::fprintf(stderr, "lmesh up: %s\n", ok.error().describe().c_str());
    exit_code_ = 1;
    begin_stop();
  }
  start_signals_and_watch();
  worker_.run();
  remove_networks();
  remove_state(options_.state_dir);
  std::printf("lmesh up: stopped; every process, namespace and rule it made is gone\n");
  return exit_code_;
}

Result<void> MeshRunner::prepare() {
  const std::string& dir = options_.state_dir;
  std::error_code ec;
  for (const char* sub : {"", "/logs", "/tokens.d"}) {
    fs::create_directories(dir + sub, ec);
    if (ec) return fail(ErrorCode::kIo, "cannot make " + dir + sub + ": " + ec.message());
  }
  // The proxy runs as its own user and must reach its token and the trust anchors.
  fs::permissions(dir,
                  fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                      fs::perms::others_read | fs::perms::others_exec,
                  ec);

  if (auto previous = read_state(dir); previous) {
    if (alive(previous->up)) {
      return fail(ErrorCode::kInvalidArgument,
                  "a mesh is already running from " + dir + " (lmesh up, pid " +
                      std::to_string(previous->up.pid) + "); run lmesh down first");
    }
    std::printf("lmesh up: cleaning up after an lmesh up that did not stop (pid %d)\n",
                previous->up.pid);
    teardown(*previous, dir, stdout);
  }

  auto spec = load_mesh_spec(options_.mesh_file, options_.demo_dir);
  if (!spec) return fail(spec.error());
  spec_ = std::move(*spec);
  auto services = plan_services(spec_, vips_);
  if (!services) return fail(services.error());
  services_ = std::move(*services);

  std::string ca_dir = dir + "/ca";
  if (::access((ca_dir + "/" + identity::kTrustAnchorFile).c_str(), F_OK) != 0) {
    identity::CaInitOptions ca;
    ca.out_dir = ca_dir;
    auto made = identity::init_ca(ca);
    if (!made) return fail(Error::wrap(made.error(), "making the mesh's CA in " + ca_dir));
    std::printf("lmesh up: made a trust anchor and an issuer in %s\n", ca_dir.c_str());
  }
  fs::permissions(ca_dir,
                  fs::perms::others_read | fs::perms::others_exec | fs::perms::group_read |
                      fs::perms::group_exec,
                  fs::perm_options::add, ec);

  state_.version = options_.version;
  state_.mode = std::string(to_string(options_.mode));
  state_.up = process_ref(::getpid());
  state_.mesh_file = options_.mesh_file;
  bool netns = options_.mode == NetworkMode::kNetns;
  std::string reach = netns ? kBridgeAddress : "127.0.0.1";
  control_.identity_addr = reach + ":8080";
  control_.destination_addr = reach + ":8086";
  control_.trust_anchors = ca_dir + "/" + identity::kTrustAnchorFile;
  control_.tokens_dir = dir + "/tokens.d";
  save_state();

  for (auto [port, owner] : {std::pair{8080, "lmesh-identity"},
                             std::pair{8086, "lmesh-destination"}, std::pair{8088, "lmesh-tap"}}) {
    if (!port_free(netns ? "0.0.0.0" : "127.0.0.1", port)) {
      return fail(ErrorCode::kInvalidArgument,
                  "port " + std::to_string(port) + " (" + owner +
                      "'s) is in use: another mesh runs here, or another program has it");
    }
  }
  if (netns) {
    auto bridge = host::ensure_bridge(host::BridgeSpec{kBridgeName, kBridgeAddress, kBridgePrefix});
    if (!bridge)
      return fail(Error::wrap(bridge.error(), "making the bridge " + std::string(kBridgeName)));
    if (!bridge->created) {
      // Someone else's (not recorded here, so never removed by this run).
      return fail(ErrorCode::kInvalidArgument,
                  "the bridge " + bridge->name +
                      " exists: another lmesh up runs here, or one died without lmesh down "
                      "(run lmesh down with its --state-dir)");
    }
    state_.bridge = bridge->name;
    state_.forward_rule = bridge->forward_rule;
    save_state();
  }
  tokens_[kTapTokenFile] = {random_token(), "lmesh-system/tap"};
  if (auto ok = replace_file(control_.tokens_dir + "/" + kTapTokenFile,
                             tokens_[kTapTokenFile].value + "\n", 0600);
      !ok) {
    return ok;
  }
  issue_tokens_for_spec();
  write_tokens();
  write_destination_mesh();
  return {};
}

std::vector<std::string> MeshRunner::base_env() const {
  // The children get this environment minus lmesh's own variables: a user's
  // LMESH_PROXY_LOG_LEVEL must not silently reconfigure every proxy of the mesh.
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!std::string_view(*e).starts_with("LMESH_")) env.emplace_back(*e);
  }
  return env;
}

Result<void> MeshRunner::start_controllers() {
  const std::string& dir = options_.state_dir;
  bool netns = options_.mode == NetworkMode::kNetns;
  std::string listen = netns ? "0.0.0.0" : "127.0.0.1";
  struct Row {
    const char* name;
    std::string binary;
    std::string port;
    std::vector<std::string> args;
  };
  std::vector<Row> rows = {
      {"identity",
       options_.binaries.identity,
       "8080",
       {"--issuer-dir", dir + "/ca", "--token-file", dir + "/tokens"}},
      {"destination", options_.binaries.destination, "8086", {"--mesh-file", dir + "/mesh.json"}},
      {"tap",
       options_.binaries.tap,
       "8088",
       {"--destination-addr", "127.0.0.1:8086", "--identity-addr", "127.0.0.1:8080",
        "--identity-token-file", control_.tokens_dir + "/" + kTapTokenFile, "--trust-anchors",
        control_.trust_anchors}},
  };
  for (Row& row : rows) {
    auto c = std::make_unique<Controller>();
    c->name = row.name;
    c->addr = "127.0.0.1:" + row.port;
    ProcessSpec spec{std::string("lmesh-") + row.name,
                     {row.binary, "--listen", listen + ":" + row.port},
                     base_env(),
                     dir + "/logs/" + row.name + ".log"};
    spec.argv.insert(spec.argv.end(), row.args.begin(), row.args.end());
    Controller* raw = c.get();
    c->supervised.process = std::make_unique<ChildProcess>(
        worker_.loop(), std::move(spec),
        [this, raw](int64_t status, int sig) { on_process_exit(raw->supervised, status, sig); });
    c->ready_check = std::make_unique<ReadyCheck>(worker_, c->addr);
    controllers_.push_back(std::move(c));
    start_process(controllers_.back()->supervised);
  }
  state_.identity = {controllers_[0]->addr, controllers_[0]->supervised.process->ref()};
  state_.destination = {controllers_[1]->addr, controllers_[1]->supervised.process->ref()};
  state_.tap = {controllers_[2]->addr, controllers_[2]->supervised.process->ref()};
  save_state();
  for (auto& c : controllers_) {
    if (!c->supervised.process->running()) {
      return fail(ErrorCode::kIo, "lmesh-" + c->name + " did not start; see " +
                                      c->supervised.process->spec().log_path);
    }
  }
  std::printf("lmesh up: %s mode; control plane starting (logs in %s/logs)\n",
              std::string(to_string(options_.mode)).c_str(), dir.c_str());
  return {};
}

void MeshRunner::start_signals_and_watch() {
  for (auto [handle, signum] : {std::pair{&sigterm_, SIGTERM}, std::pair{&sigint_, SIGINT}}) {
    handle->init(uv_signal_init, worker_.loop());
    handle->get()->data = this;
    uv_signal_start(
        handle->get(),
        [](uv_signal_t* h, int) {
          if (auto* self = static_cast<MeshRunner*>(h->data)) self->begin_stop();
        },
        signum);
  }
  if (!stopping_) {
    mesh_poll_.init(uv_fs_poll_init, worker_.loop());
    mesh_poll_.get()->data = this;
    uv_fs_poll_start(
        mesh_poll_.get(),
        [](uv_fs_poll_t* h, int status, const uv_stat_t*, const uv_stat_t*) {
          auto* self = static_cast<MeshRunner*>(h->data);
          if (self != nullptr && status == 0) self->reload_mesh_file();
        },
        options_.mesh_file.c_str(), 500);
  }
  tick_ = std::make_unique<event::Timer>(worker_.loop(), [this] {
    if (stopping_) {
      stop_tick();
    } else {
      on_tick();
    }
  });
  tick_->arm(stopping_ ? kStopTick : kStartTick);
}

void MeshRunner::start_process(Supervised& s) {
  s.ready = false;
  s.restart_at.reset();
  s.started = Clock::now();
  if (auto ok = s.process->start(); !ok) {
    spdlog::error("{}: {}", s.process->spec().name, ok.error().describe());
    s.quick_exits++;
    s.restart_at =
        Clock::now() + std::chrono::seconds(std::min(30, 1 << std::min(s.quick_exits, 5)));
  }
}

void MeshRunner::on_process_exit(Supervised& s, int64_t status, int sig) {
  s.ready = false;
  if (stopping_ || s.retired) return;  // stopped on purpose: not restarted
  const ProcessSpec& spec = s.process->spec();
  s.quick_exits = Clock::now() - s.started < 60s ? s.quick_exits + 1 : 1;
  auto delay = std::chrono::seconds(std::min(30, 1 << std::min(s.quick_exits - 1, 5)));
  s.restart_at = Clock::now() + delay;
  spdlog::warn("{} {}; restarting in {}s (log: {})", spec.name, describe_exit(status, sig),
               delay.count(), spec.log_path);
  save_state();
}

void MeshRunner::restart_due(Supervised& s) {
  if (s.process == nullptr || s.process->running() || !s.restart_at) return;
  if (Clock::now() < *s.restart_at) return;
  start_process(s);
  save_state();
}

void MeshRunner::on_tick() {
  for (auto& c : controllers_) {
    restart_due(c->supervised);
    if (c->supervised.process->running() && !c->ready_check->checking()) {
      Controller* raw = c.get();
      c->ready_check->check([raw](bool ready, std::string) { raw->supervised.ready = ready; });
    }
  }
  bool controllers_ready =
      std::ranges::all_of(controllers_, [](const auto& c) { return c->supervised.ready; });
  if (controllers_ready && !controllers_reported_) {
    controllers_reported_ = true;
    std::printf("lmesh up: control plane ready in %.1f s; starting %zu workloads\n",
                seconds_since(started_at_), spec_.workloads.size());
    std::fflush(stdout);
  }
  if (!controllers_reported_) {
    if (Clock::now() - started_at_ > kControllerReadyTimeout) {
      for (auto& c : controllers_) {
        if (c->supervised.ready) continue;
        std::fprintf(stderr, "lmesh up: lmesh-%s is not ready at %s; the end of its log:\n%s",
                     c->name.c_str(), c->addr.c_str(),
                     tail_of(c->supervised.process->spec().log_path, 10).c_str());
      }
      exit_code_ = 1;
      begin_stop();
      return;
    }
    tick_->arm(kStartTick);
    return;
  }
  reconcile();
  if (stopping_) return;
  for (auto& [key, pod] : pods_) {
    restart_due(pod->app);
    restart_due(pod->proxy);
    probe_pod(*pod);
  }
  finish_terminated_pods();
  write_destination_mesh();
  if (!announced_ready_) {
    bool all_ready = std::ranges::all_of(pods_, [](const auto& kv) {
      return kv.second->terminating || (kv.second->app.ready && kv.second->proxy.ready);
    });
    if (all_ready || Clock::now() - started_at_ > options_.ready_timeout) {
      announced_ready_ = true;
      print_ready_summary();
    }
  }
  tick_->arm(announced_ready_ ? kTick : kStartTick);
}

void MeshRunner::probe_pod(Pod& pod) {
  if (pod.terminating) return;
  if (!pod.app_started && pod.proxy.ready) {
    pod.app_started = true;
    start_process(pod.app);
    save_state();
  }
  if (pod.app.process->running()) {
    bool open = true;
    for (const WorkloadPort& p : pod.workload.ports) {
      open = open && tcp_port_open(pod.plan.netns, pod.plan.ip, p.port);
    }
    // A workload without ports (a client) is ready once it has stayed up for half a second.
    pod.app.ready = open && (!pod.workload.ports.empty() || Clock::now() - pod.app.started > 500ms);
  }
  if (pod.proxy.process->running() && !pod.proxy_ready->checking()) {
    Pod* raw = &pod;
    pod.proxy_ready->check([raw](bool ready, std::string) { raw->proxy.ready = ready; });
  }
  bool ready = pod.app.ready && pod.proxy.ready;
  if (ready != pod.was_ready && announced_ready_) {
    spdlog::info("pod {}/{} ({}) is {}", pod.plan.namespace_name, pod.plan.name, pod.plan.ip,
                 ready ? "ready: its endpoints are announced" : "not ready: endpoints withdrawn");
  }
  pod.was_ready = ready;
}

uint32_t MeshRunner::free_slot() const {
  std::set<uint32_t> used;
  for (const auto& [key, pod] : pods_) used.insert(pod->plan.slot);
  uint32_t slot = 1;
  while (used.contains(slot)) ++slot;
  return slot;
}

void MeshRunner::reconcile() {
  if (stopping_) return;
  for (auto& [key, pod] : pods_) {
    if (pod->terminating) continue;
    auto it = std::ranges::find_if(spec_.workloads, [&](const WorkloadSpec& w) {
      return w.name == pod->workload.name && w.namespace_name == pod->workload.namespace_name;
    });
    if (it == spec_.workloads.end() || !same_pod_template(*it, pod->workload) ||
        pod->plan.replica >= it->replicas) {
      terminate_pod(*pod);
      continue;
    }
    pod->plan.workload_index = static_cast<size_t>(it - spec_.workloads.begin());
  }
  for (size_t wi = 0; wi < spec_.workloads.size(); ++wi) {
    const WorkloadSpec& w = spec_.workloads[wi];
    for (int r = 0; r < w.replicas; ++r) {
      std::string key = pod_key(w.namespace_name, w.name + "-" + std::to_string(r));
      if (pods_.contains(key)) continue;
      auto retry = start_retry_at_.find(key);
      if (retry != start_retry_at_.end() && Clock::now() < retry->second) continue;
      if (auto ok = start_pod(wi, r); !ok) {
        spdlog::error("pod {}: {}", key, ok.error().describe());
        if (!announced_ready_) {  // at start-up a pod that cannot be made fails the command
          exit_code_ = 1;
          begin_stop();
          return;
        }
        start_retry_at_[key] = Clock::now() + 5s;  // a live edit: the rest keeps running
        continue;
      }
      start_retry_at_.erase(key);
    }
  }
}

const MeshRunner::Token& MeshRunner::pod_token(const WorkloadSpec& workload,
                                               const std::string& name) {
  Token& token = tokens_[workload.namespace_name + "." + name];
  if (token.value.empty()) {
    token = {random_token(), workload.namespace_name + "/" + workload.service_account};
  }
  return token;
}

void MeshRunner::issue_tokens_for_spec() {
  // Every pod the file asks for gets its token before lmesh-identity (re)reads the file, so
  // that a new proxy's first certificate request is not refused for a token not yet known.
  bool added = false;
  for (const WorkloadSpec& w : spec_.workloads) {
    for (int r = 0; r < w.replicas; ++r) {
      std::string file = w.namespace_name + "." + w.name + "-" + std::to_string(r);
      if (tokens_.contains(file)) continue;
      pod_token(w, w.name + "-" + std::to_string(r));
      added = true;
    }
  }
  if (added) write_tokens();
}

Result<void> MeshRunner::start_pod(size_t workload_index, int replica) {
  bool netns = options_.mode == NetworkMode::kNetns;
  auto pod = std::make_unique<Pod>();
  pod->plan = plan_pod(options_.mode, spec_, workload_index, replica, free_slot());
  pod->workload = spec_.workloads[workload_index];
  const PodPlan& plan = pod->plan;
  std::string key = pod_key(plan.namespace_name, plan.name);

  std::string token_path = control_.tokens_dir + "/" + plan.namespace_name + "." + plan.name;
  if (auto ok = replace_file(token_path, pod_token(pod->workload, plan.name).value + "\n", 0400);
      !ok) {
    return ok;
  }
  if (netns && ::chown(token_path.c_str(), kProxyUid, kProxyUid) != 0) {
    return fail(ErrorCode::kIo,
                "cannot give " + token_path + " to the proxy's user: " + std::strerror(errno));
  }

  if (netns) {
    host::PodNetworkSpec net;
    net.netns = plan.netns;
    net.host_veth = plan.host_veth;
    net.bridge = kBridgeName;
    net.ip = plan.ip;
    net.prefix_len = kBridgePrefix;
    net.gateway = kBridgeAddress;
    net.hosts = hosts_entries(services_, plan.namespace_name);
    // Record the namespace before making it: a crash half-way must still be cleaned up.
    state_.pods.push_back(PodState{plan.name,
                                   plan.namespace_name,
                                   plan.workload,
                                   plan.identity,
                                   plan.ip,
                                   plan.netns,
                                   plan.host_veth,
                                   plan.admin,
                                   {},
                                   {}});
    save_state();
    if (auto ok = host::create_pod_network(net); !ok) return ok;
    pod->network = true;
  }

  std::string logs = options_.state_dir + "/logs/" + plan.name + "." + plan.namespace_name;
  std::vector<std::string> app_argv;
  std::vector<std::string> proxy_argv;
  if (netns) {
    app_argv = host::netns_exec_prefix(plan.netns);
    proxy_argv = host::netns_exec_prefix(plan.netns, kProxyUid);
  }
  app_argv.insert(app_argv.end(), pod->workload.command.begin(), pod->workload.command.end());
  proxy_argv.push_back(options_.binaries.proxy);
  auto args = proxy_args(options_.mode, spec_, services_, plan, control_);
  proxy_argv.insert(proxy_argv.end(), args.begin(), args.end());

  std::vector<std::string> app_environment = base_env();
  for (const auto& [k, v] : app_env(options_.mode, spec_, services_, plan)) {
    app_environment.push_back(k + "=" + v);
  }
  Pod* raw = pod.get();
  pod->app.process = std::make_unique<ChildProcess>(
      worker_.loop(), ProcessSpec{plan.name + " app", app_argv, app_environment, logs + ".app.log"},
      [this, raw](int64_t status, int sig) { on_process_exit(raw->app, status, sig); });
  pod->proxy.process = std::make_unique<ChildProcess>(
      worker_.loop(),
      ProcessSpec{plan.name + " proxy", proxy_argv, base_env(), logs + ".proxy.log"},
      [this, raw](int64_t status, int sig) { on_process_exit(raw->proxy, status, sig); });
  pod->proxy_ready = std::make_unique<ReadyCheck>(worker_, plan.admin);
  pods_[key] = std::move(pod);
  write_tokens();  // before its proxy asks: lmesh-identity re-reads the file within a second
  // The app starts once its proxy is ready (probe_pod), as Linkerd's proxy-await does: an
  // app's first requests would otherwise fail for want of a certificate or a route.
  start_process(raw->proxy);
  save_state();
  return {};
}

void MeshRunner::terminate_pod(Pod& pod) {
  if (pod.terminating) return;
  pod.terminating = true;
  pod.app.ready = false;
  pod.proxy.ready = false;
  for (Supervised* s : {&pod.app, &pod.proxy}) {
    s->restart_at.reset();
    s->retired = true;
  }
  pod.terminate_at = Clock::now() + (stopping_ ? 0s : kPodGrace);
  if (!stopping_) spdlog::info("pod {}/{}: stopping", pod.plan.namespace_name, pod.plan.name);
}

void MeshRunner::finish_terminated_pods() {
  auto now = Clock::now();
  for (auto it = pods_.begin(); it != pods_.end();) {
    Pod& pod = *it->second;
    if (!pod.terminating || now < pod.terminate_at) {
      ++it;
      continue;
    }
    int sig = now - pod.terminate_at > kTerminateKill ? SIGKILL : SIGTERM;
    bool running = false;
    for (Supervised* s : {&pod.app, &pod.proxy}) {
      if (s->process->running()) {
        // SIGTERM once, SIGKILL once the grace is over.
        if (sig == SIGKILL || !s->signalled) s->process->signal(sig);
        s->signalled = true;
        running = true;
      }
    }
    if (running) {
      ++it;
      continue;
    }
    if (pod.network) {
      if (auto ok = host::remove_pod_network(pod.plan.netns, pod.plan.host_veth); !ok) {
        spdlog::warn("pod {}: {}", it->first, ok.error().describe());
      }
    }
    std::string token_file = pod.plan.namespace_name + "." + pod.plan.name;
    ::unlink((control_.tokens_dir + "/" + token_file).c_str());
    tokens_.erase(token_file);
    std::erase_if(state_.pods, [&](const PodState& p) {
      return p.name == pod.plan.name && p.namespace_name == pod.plan.namespace_name &&
             p.netns == pod.plan.netns;
    });
    it = pods_.erase(it);
    write_tokens();
    save_state();
  }
}

void MeshRunner::reload_mesh_file() {
  // A mesh being stopped stays stopped: an edit now would start pods that keep it alive.
  if (stopping_) return;
  auto spec = load_mesh_spec(options_.mesh_file, options_.demo_dir);
  if (!spec) {
    spdlog::error("mesh file not applied, the running mesh is unchanged: {}",
                  spec.error().describe());
    return;
  }
  auto vips = vips_;
  auto services = plan_services(*spec, vips);
  if (!services) {
    spdlog::error("mesh file not applied, the running mesh is unchanged: {}",
                  services.error().describe());
    return;
  }
  spec_ = std::move(*spec);
  vips_ = std::move(vips);
  services_ = std::move(*services);
  spdlog::info("mesh file {} changed: applying it", options_.mesh_file);
  write_hosts_files();
  issue_tokens_for_spec();
  // Pods are replaced and scaled by the next tick's reconcile(); policies reach the proxies
  // through the destination file.
  reconcile();
  write_destination_mesh();
}

void MeshRunner::write_hosts_files() {
  if (options_.mode != NetworkMode::kNetns) return;
  for (auto& [key, pod] : pods_) {
    if (!pod->network) continue;
    auto text = host::hosts_file_text(hosts_entries(services_, pod->plan.namespace_name));
    if (!text) continue;
    // In place, not by rename: `ip netns exec` bind-mounted this very file over /etc/hosts.
    std::ofstream out("/etc/netns/" + pod->plan.netns + "/hosts", std::ios::trunc);
    out << *text;
  }
}

void MeshRunner::write_destination_mesh() {
  std::vector<PodPlan> pods;
  std::set<std::string> ready;
  for (const auto& [key, pod] : pods_) {
    if (pod->terminating) continue;
    pods.push_back(pod->plan);
    if (pod->app.ready && pod->proxy.ready) ready.insert(key);
  }
  std::string text = destination_mesh(options_.mode, spec_, services_, pods, ready).dump(1) + "\n";
  if (text == last_mesh_json_) return;
  if (auto ok = replace_file(options_.state_dir + "/mesh.json", text, 0644); !ok) {
    spdlog::error("{}", ok.error().describe());
    return;
  }
  last_mesh_json_ = std::move(text);
}

void MeshRunner::write_tokens() {
  std::string text = "# written by lmesh up: bootstrap tokens, one per proxy (and lmesh-tap)\n";
  for (const auto& [file, token] : tokens_) text += token.value + " " + token.subject + "\n";
  if (auto ok = replace_file(options_.state_dir + "/tokens", text, 0600); !ok) {
    spdlog::error("{}", ok.error().describe());
  }
}

void MeshRunner::save_state() {
  for (auto& c : controllers_) {
    ControllerState* target = c->name == "identity"      ? &state_.identity
                              : c->name == "destination" ? &state_.destination
                                                         : &state_.tap;
    target->addr = c->addr;
    target->process = c->supervised.process->ref();
  }
  for (auto& [key, pod] : pods_) {
    auto it = std::ranges::find_if(state_.pods, [&](const PodState& p) {
      return p.name == pod->plan.name && p.namespace_name == pod->plan.namespace_name &&
             p.ip == pod->plan.ip;
    });
    if (it == state_.pods.end()) {
      state_.pods.push_back(PodState{pod->plan.name,
                                     pod->plan.namespace_name,
                                     pod->plan.workload,
                                     pod->plan.identity,
                                     pod->plan.ip,
                                     pod->plan.netns,
                                     pod->plan.host_veth,
                                     pod->plan.admin,
                                     {},
                                     {}});
      it = std::prev(state_.pods.end());
    }
    it->app = pod->app.process ? pod->app.process->ref() : ProcessRef{};
    it->proxy = pod->proxy.process ? pod->proxy.process->ref() : ProcessRef{};
  }
  if (auto ok = write_state(options_.state_dir, state_); !ok) {
    spdlog::error("{}", ok.error().describe());
    return;
  }
  state_written_ = true;
}

void MeshRunner::print_ready_summary() {
  size_t ready = 0;
  for (const auto& [key, pod] : pods_) ready += pod->app.ready && pod->proxy.ready;
  bool netns = options_.mode == NetworkMode::kNetns;
  std::printf("\nlmesh up: %zu of %zu pods ready in %.1f s (%s mode)\n\n", ready, pods_.size(),
              seconds_since(started_at_), std::string(to_string(options_.mode)).c_str());
  std::printf("  %-22s %-12s %-14s %-6s %s\n", "POD", "NAMESPACE", "IP", "READY", "IDENTITY");
  // In the mesh file's order, so that the curl line points at its first HTTP workload (the
  // demo's front end), not at whichever pod sorts first.
  std::vector<const Pod*> ordered;
  for (const auto& [key, pod] : pods_) ordered.push_back(pod.get());
  std::ranges::stable_sort(
      ordered, {}, [](const Pod* p) { return std::pair(p->plan.workload_index, p->plan.replica); });
  std::string first_http;
  for (const Pod* pod : ordered) {
    bool ok = pod->app.ready && pod->proxy.ready;
    std::printf("  %-22s %-12s %-14s %-6s %s\n", pod->plan.name.c_str(),
                pod->plan.namespace_name.c_str(), pod->plan.ip.c_str(), ok ? "yes" : "no",
                pod->plan.identity.c_str());
    for (const WorkloadPort& p : pod->workload.ports) {
      if (first_http.empty() && p.protocol == discovery::ProtocolHint::kHttp1) {
        first_http = "http://" + pod->plan.ip + ":" +
                     std::to_string(netns ? p.port : kProxyInboundPort) + "/";
      }
    }
  }
  std::printf(
      "\n  control plane: lmesh-identity %s, lmesh-destination %s, lmesh-tap %s\n"
      "  dashboard: http://127.0.0.1:8088/   (live requests and golden metrics; also the tap\n"
      "             API that lmesh tap, stat and top use)\n"
      "  logs: %s/logs/   state: %s/state.json\n\n"
      "next:\n"
      "  lmesh check                  # is everything healthy?\n"
      "  lmesh stat deploy            # success rate, RPS and latency per deployment\n"
      "  lmesh tap deploy/web         # watch live requests (Ctrl-C to stop)\n",
      controllers_[0]->addr.c_str(), controllers_[1]->addr.c_str(), controllers_[2]->addr.c_str(),
      options_.state_dir.c_str(), options_.state_dir.c_str());
  if (!first_http.empty())
    std::printf("  curl %-23s # through the pod's proxy\n", first_http.c_str());
  std::printf("  lmesh down                   # or Ctrl-C here: stop and remove everything\n\n");
  std::fflush(stdout);
}

void MeshRunner::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  stop_began_ = Clock::now();
  std::printf("lmesh up: stopping the mesh\n");
  std::fflush(stdout);
  mesh_poll_.close();
  for (auto& [key, pod] : pods_) terminate_pod(*pod);
  if (tick_ != nullptr) {
    tick_->disarm();
    tick_->arm(0ms);
  }
}

void MeshRunner::stop_tick() {
  auto now = Clock::now();
  if (stop_phase_ == 0) {
    finish_terminated_pods();
    if (pods_.empty()) {
      stop_phase_ = 1;
      stop_began_ = now;
      for (auto& c : controllers_) c->supervised.process->signal(SIGTERM);
    }
  }
  if (stop_phase_ == 1) {
    bool running = false;
    for (auto& c : controllers_) {
      if (!c->supervised.process->running()) continue;
      running = true;
      if (now - stop_began_ > kControllerKill) c->supervised.process->signal(SIGKILL);
    }
    if (!running) {
      // Not from inside the tick's own callback: closing frees the timer running it.
      tick_->disarm();
      worker_.post([this] { close_handles(); });
      return;
    }
  }
  tick_->arm(kStopTick);
}

void MeshRunner::close_handles() {
  for (auto& c : controllers_) c->ready_check.reset();
  save_state();
  sigint_.close();
  sigterm_.close();
  mesh_poll_.close();
  tick_.reset();
  worker_.stop();
}

void MeshRunner::remove_networks() {
  // Pods erased their namespaces as they finished; what is left is the bridge.
  if (!state_.bridge.empty()) {
    if (auto ok = host::remove_bridge(state_.bridge, state_.forward_rule); !ok) {
      spdlog::warn("{}", ok.error().describe());
    }
    state_.bridge.clear();
  }
}

}  // namespace lmesh::up
