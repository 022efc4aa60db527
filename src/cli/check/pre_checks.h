// `lmesh check --pre`: can this machine run `lmesh up`? The facts are gathered by
// gather_pre_facts() (I/O, pre_facts.cc) and judged by pre_report() (pure), so the verdicts
// for root and for other users can be tested on one machine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/check/check_report.h"
#include "cli/check/observations.h"

namespace lmesh::cli::check {

// Something tried: `error` is empty when it worked.
struct Attempt {
  bool tried = false;
  std::string error;
};

struct ToolFact {
  std::string name;  // "iptables"
  std::string path;  // where it was found; empty: not found
  Attempt run;       // as root only: a harmless run that needs the privileges netns mode uses
};

struct PortFact {
  uint16_t port = 0;
  std::string controller;  // "lmesh-identity"
  std::string error;       // why it cannot be bound; empty: free
};

struct PreFacts {
  bool root = false;
  uint32_t uid = 0;
  bool netns_supported = false;  // /proc/self/ns/net exists
  Attempt netns_create;          // as root: `ip netns add` and `delete` of a throw-away one
  ToolFact iptables;
  ToolFact setpriv;
  std::vector<PortFact> ports;
  std::string state_dir;
  std::string state_dir_error;  // why it is not writable; empty: it is
  // An earlier `lmesh up` with this state dir, when its state.json could be read.
  std::optional<ProcessObservation> existing_up;
};

// The control plane's ports (DESIGN.md "Ports") and who listens there.
struct ControlPlanePort {
  uint16_t port;
  const char* controller;
};
inline constexpr ControlPlanePort kControlPlanePorts[] = {
    {8080, "lmesh-identity"}, {8086, "lmesh-destination"}, {8088, "lmesh-tap"}};

Report pre_report(const PreFacts& facts);

// What the machine offers (pre_facts.cc).
PreFacts gather_pre_facts(const std::string& state_dir);

}  // namespace lmesh::cli::check
