// The life of one `lmesh up`: make the state directory and the CA, start the controllers,
// then keep the running mesh equal to the mesh file, as a kubelet and a ReplicaSet controller
// would: every replica gets a network (netns mode), an app and a proxy; a process that exits
// is restarted with backoff; a pod's endpoints are announced only while its app and proxy are
// ready; an edit of the mesh file is applied live (replicas, workloads, policies). A signal
// or `lmesh down` stops the pods, then the controllers, and removes everything it made.
//
// One event loop; the blocking steps (iproute2, iptables) run on it at start and when pods
// come and go, which is when nothing else needs the loop.
#pragma once

#include <uv.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli/up/binaries.h"
#include "cli/up/child_process.h"
#include "cli/up/mesh_plan.h"
#include "cli/up/mesh_spec.h"
#include "cli/up/readiness.h"
#include "cli/up/up_state.h"
#include "common/event/timer.h"
#include "common/event/uv_handle.h"
#include "common/event/worker.h"

namespace lmesh::up {

struct UpOptions {
  std::string mesh_file;  // absolute
  std::string demo_dir;
  std::string state_dir;
  NetworkMode mode = NetworkMode::kNetns;
  Binaries binaries;
  std::chrono::seconds ready_timeout{120};
  std::string version;
};

class MeshRunner {
 public:
  explicit MeshRunner(UpOptions options);
  ~MeshRunner();
  MeshRunner(const MeshRunner&) = delete;
  MeshRunner& operator=(const MeshRunner&) = delete;

  // Runs the mesh until SIGINT/SIGTERM, then stops and cleans up. The exit code.
  int run();

 private:
  using Clock = std::chrono::steady_clock;

  // A process kept running: restarted after an exit, with backoff, until the mesh stops.
  struct Supervised {
    std::unique_ptr<ChildProcess> process;
    Clock::time_point started{};
    int quick_exits = 0;  // exits within a minute of starting, in a row
    std::optional<Clock::time_point> restart_at;
    bool ready = false;
    bool retired = false;    // its pod is going away: an exit is not restarted
    bool signalled = false;  // and it was sent SIGTERM
  };

  struct Pod {
    PodPlan plan;
    WorkloadSpec workload;  // as it was when the pod started: a change replaces the pod
    Supervised app;
    Supervised proxy;
    std::unique_ptr<ReadyCheck> proxy_ready;
    bool network = false;      // netns mode: its namespace exists
    bool app_started = false;  // once its proxy was ready
    bool was_ready = false;    // as last logged
    bool terminating = false;
    Clock::time_point terminate_at{};
  };

  struct Controller {
    std::string name;
    std::string addr;  // where lmesh up and the CLI reach it
    Supervised supervised;
    std::unique_ptr<ReadyCheck> ready_check;
  };

  Result<void> prepare();
  Result<void> start_controllers();
  bool wait_for_controllers();
  void start_signals_and_watch();

  void reconcile();
  Result<void> start_pod(size_t workload_index, int replica);
  void terminate_pod(Pod& pod);
  void issue_tokens_for_spec();
  void finish_terminated_pods();
  uint32_t free_slot() const;

  void start_process(Supervised& s);
  void on_process_exit(Supervised& s, int64_t status, int signal);
  void on_tick();
  void probe_pod(Pod& pod);
  void restart_due(Supervised& s);
  void reload_mesh_file();
  void write_destination_mesh();
  void write_tokens();
  void write_hosts_files();
  void save_state();
  void print_ready_summary();

  void begin_stop();
  void stop_tick();
  void close_handles();
  void remove_networks();

  std::vector<std::string> base_env() const;
  // Bootstrap tokens by token file name ("default.web-0", "tap"): the token and the
  // NAMESPACE/SERVICEACCOUNT it proves.
  struct Token {
    std::string value;
    std::string subject;
  };
  // The token of pod `name` of `workload`, made on first use.
  const Token& pod_token(const WorkloadSpec& workload, const std::string& name);

  UpOptions options_;
  event::Worker worker_{0};
  MeshSpec spec_;
  std::vector<ServicePlan> services_;
  std::map<ServiceKey, uint32_t> vips_;
  std::map<std::string, std::unique_ptr<Pod>> pods_;  // by pod_key, terminating ones included
  std::map<std::string, Token> tokens_;
  std::map<std::string, Clock::time_point> start_retry_at_;  // pods that could not be made
  std::vector<std::unique_ptr<Controller>> controllers_;
  ControlPlane control_;
  UpState state_;

  event::UvHandle<uv_signal_t> sigint_;
  event::UvHandle<uv_signal_t> sigterm_;
  event::UvHandle<uv_fs_poll_t> mesh_poll_;
  std::unique_ptr<event::Timer> tick_;

  std::string last_mesh_json_;
  bool announced_ready_ = false;
  bool controllers_reported_ = false;
  bool state_written_ = false;
  Clock::time_point started_at_{};
  bool stopping_ = false;
  Clock::time_point stop_began_{};
  int stop_phase_ = 0;
  int exit_code_ = 0;
};

}  // namespace lmesh::up
