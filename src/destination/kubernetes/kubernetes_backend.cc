#include "destination/kubernetes/kubernetes_backend.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "destination/mesh_file_backend.h"

namespace lmesh::destination::kubernetes {
namespace {

// How a rejected object is named in the log: "serviceprofile default/web...: /spec/...".
std::string_view singular(Kind kind) {
  switch (kind) {
    case Kind::kServices: return "service";
    case Kind::kEndpointSlices: return "endpointslice";
    case Kind::kPods: return "pod";
    case Kind::kServiceProfiles: return "serviceprofile";
  }
  return "object";
}

size_t index(Kind kind) {
  return static_cast<size_t>(kind);
}

constexpr std::string_view kListItem = "list item";

}  // namespace

Result<std::unique_ptr<KubernetesBackend>> KubernetesBackend::open(event::Worker& worker,
                                                                   Store& store,
                                                                   DestinationMetrics& metrics,
                                                                   KubernetesOptions options) {
  auto api = ApiConnection::open(worker, options.access);
  if (!api) return fail(api.error());
  return std::unique_ptr<KubernetesBackend>(
      new KubernetesBackend(worker, store, metrics, std::move(*api), std::move(options)));
}

KubernetesBackend::KubernetesBackend(event::Worker& worker, Store& store,
                                     DestinationMetrics& metrics,
                                     std::unique_ptr<ApiConnection> api, KubernetesOptions options)
    : store_(store),
      metrics_(metrics),
      options_(std::move(options)),
      api_(std::move(api)),
      state_(options_.cluster_domain),
      trim_(worker.loop(), [] { malloc_trim(0); }) {
  for (Kind kind : kAllKinds) {
    ResourceWatch::Handler& handler = *this;
    watches_[index(kind)] = std::make_unique<ResourceWatch>(*api_, kind, handler, options_.watch);
  }
}

KubernetesBackend::~KubernetesBackend() {
  for (auto& w : watches_) w.reset();  // before the connection they use
}

Result<void> KubernetesBackend::start() {
  const ServerUrl& server = api_->access().server;
  spdlog::info("kubernetes backend: API server {}://{}{} from {}; cluster domain {}",
               server.tls ? "https" : "http", server.address.to_string(), server.path_prefix,
               api_->access().source, options_.cluster_domain);
  for (auto& w : watches_) w->start();
  return {};
}

void KubernetesBackend::on_listed(Kind kind, std::vector<nlohmann::json> items, bool relist) {
  size_t total = items.size();
  std::vector<Rejection> refused = state_.replace(kind, items);
  items.clear();
  for (const Rejection& r : refused) rejected(kind, kListItem, r);
  metrics_.kubernetes_event(to_string(kind), true, total - refused.size());
  if (relist) metrics_.kubernetes_relisted(to_string(kind));
  listed_[index(kind)] = true;
  if (synced_) {
    publish_all();
    return;
  }
  if (!std::all_of(listed_.begin(), listed_.end(), [](bool b) { return b; })) return;
  synced_ = true;
  publish_all();
  store_.set_ready();
  spdlog::info(
      "kubernetes state complete: services={} endpointslices={} meshed_pods={} "
      "serviceprofiles={} -> {} authorities; ready",
      state_.size(Kind::kServices), state_.size(Kind::kEndpointSlices), state_.size(Kind::kPods),
      state_.size(Kind::kServiceProfiles), store_.service_count());
}

void KubernetesBackend::on_event(Kind kind, WatchEvent event) {
  if (event.type == EventType::kBookmark || event.type == EventType::kError) {
    metrics_.kubernetes_event(to_string(kind), true);  // handled by the watch
    return;
  }
  ClusterState::Outcome outcome = state_.apply(kind, event.type, event.object);
  if (outcome.rejected) {
    rejected(kind, std::string(to_string(event.type)) + " event", *outcome.rejected);
  } else {
    metrics_.kubernetes_event(to_string(kind), true);
  }
  // Before the first complete state there is nothing to update: publish_all() will see it.
  if (!synced_) return;
  publish(outcome.affected);
  if (outcome.pod) {
    if (auto pod = state_.pod_spec_of(outcome.pod->key())) {
      store_.set_pod(std::move(*pod));
    } else {
      store_.remove_pod(outcome.pod->ns, outcome.pod->name);
    }
  }
}

void KubernetesBackend::on_malformed(Kind kind, const discovery::FieldError& why,
                                     std::string_view line) {
  metrics_.kubernetes_event(to_string(kind), false);
  spdlog::error("kubernetes {} watch event rejected: {} (line: {})", to_string(kind),
                why.describe(), line);
}

void KubernetesBackend::rejected(Kind kind, std::string_view what, const Rejection& why) {
  metrics_.kubernetes_event(to_string(kind), false);
  std::string_view consequence = kind == Kind::kServiceProfiles
                                     ? "its service is served without a profile"
                                 : what == kListItem ? "left out"
                                                     : "the last good version stays";
  spdlog::error("kubernetes {} {} rejected ({}): {} {}", to_string(kind), what, consequence,
                singular(kind), why.describe());
}

void KubernetesBackend::publish_all() {
  std::map<std::string, std::vector<ServiceSpec>> all = state_.all_specs();
  std::vector<ServiceSpec> specs;
  published_.clear();
  for (auto& [service, service_specs] : all) {
    auto& authorities = published_[service];
    for (ServiceSpec& spec : service_specs) {
      authorities.push_back(spec.authority);
      specs.push_back(std::move(spec));
    }
  }
  all.clear();
  if (auto ok = store_.replace_all(std::move(specs), state_.pod_specs()); !ok) {
    // all_specs() gives every name to one service only: a bug if this happens.
    spdlog::error("kubernetes state refused by the store: {}", ok.error().describe());
  }
  // A list is a large, short-lived tree of JSON; as with a mesh file reload, its memory goes
  // back to the system now and once the fan-out has been written.
  malloc_trim(0);
  trim_.arm(kTrimAfterFanOut);
}

void KubernetesBackend::publish(const std::vector<std::string>& services) {
  for (const std::string& service : services) {
    std::vector<ServiceSpec> specs = state_.specs_of(service);
    auto it = published_.find(service);
    if (it != published_.end()) {
      // Ports that are gone first, so that their names are free for the new specs.
      for (const std::string& old : it->second) {
        bool kept = std::any_of(specs.begin(), specs.end(),
                                [&old](const ServiceSpec& s) { return s.authority == old; });
        if (!kept) store_.remove_service(old);
      }
    }
    if (specs.empty()) {
      if (it != published_.end()) published_.erase(it);
      continue;
    }
    std::vector<std::string> authorities;
    for (const ServiceSpec& s : specs) authorities.push_back(s.authority);
    published_[service] = std::move(authorities);
    set_specs(std::move(specs));
  }
}

void KubernetesBackend::set_specs(std::vector<ServiceSpec> specs) {
  for (ServiceSpec& spec : specs) {
    std::string authority = spec.authority;
    if (auto ok = store_.set_service(std::move(spec)); !ok) {
      spdlog::error("kubernetes service {} not updated: {}", authority, ok.error().describe());
    }
  }
}

}  // namespace lmesh::destination::kubernetes
