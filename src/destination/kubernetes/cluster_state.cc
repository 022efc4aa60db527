#include "destination/kubernetes/cluster_state.h"

#include <nlohmann/json.hpp>

#include <unordered_set>

#include "destination/kubernetes/translate.h"

namespace lmesh::destination::kubernetes {
namespace {

using Outcome = ClusterState::Outcome;

// The object's "ns/name" for messages, even when the rest of it is bad.
std::string name_of(const nlohmann::json& object) {
  auto meta = parse_meta(object);
  return meta ? meta->key() : std::string();
}

template <class T>
Outcome refused(const nlohmann::json& object, const Parsed<T>& failed) {
  return Outcome{{}, Rejection{name_of(object), failed.error()}, {}};
}

}  // namespace

std::string Rejection::describe() const {
  return object.empty() ? error.describe() : object + ": " + error.describe();
}

ClusterState::Outcome ClusterState::apply(Kind kind, EventType type, const nlohmann::json& object) {
  switch (kind) {
    case Kind::kServices: return apply_service(type, object);
    case Kind::kEndpointSlices: return apply_slice(type, object);
    case Kind::kPods: return apply_pod(type, object);
    case Kind::kServiceProfiles: return apply_profile(type, object);
  }
  return {};
}

std::vector<Rejection> ClusterState::replace(Kind kind, const std::vector<nlohmann::json>& items) {
  clear(kind);
  std::vector<Rejection> refused;
  for (const nlohmann::json& item : items) {
    Outcome o = apply(kind, EventType::kAdded, item);
    if (o.rejected) refused.push_back(std::move(*o.rejected));
  }
  return refused;
}

ClusterState::Outcome ClusterState::apply_service(EventType type, const nlohmann::json& object) {
  if (type == EventType::kDeleted) {
    // The last state of a deleted object matters only for its name.
    auto meta = parse_meta(object);
    if (!meta) return refused(object, meta);
    services_.erase(meta->key());
    return {{meta->key()}, {}, {}};
  }
  auto service = parse_service(object);
  if (!service) return refused(object, service);
  std::string key = service->meta.key();
  services_.insert_or_assign(key, std::move(*service));
  return {{key}, {}, {}};
}

ClusterState::Outcome ClusterState::apply_slice(EventType type, const nlohmann::json& object) {
  std::optional<EndpointSliceInfo> fresh;
  std::string key;
  if (type == EventType::kDeleted) {
    auto meta = parse_meta(object);
    if (!meta) return refused(object, meta);
    key = meta->key();
  } else {
    auto slice = parse_endpoint_slice(object);
    if (!slice) return refused(object, slice);
    key = slice->meta.key();
    fresh = std::move(*slice);
  }
  Outcome out;
  if (auto it = slices_.find(key); it != slices_.end()) {
    index_slice(it->second, -1);
    out.affected.push_back(it->second.meta.ns + "/" + it->second.service);
    slices_.erase(it);
  }
  // A slice no Service owns serves nothing: not kept.
  if (fresh && !fresh->service.empty()) {
    std::string service = fresh->meta.ns + "/" + fresh->service;
    if (out.affected.empty() || out.affected.front() != service) out.affected.push_back(service);
    index_slice(*fresh, 1);
    slices_.emplace(key, std::move(*fresh));
  }
  return out;
}

ClusterState::Outcome ClusterState::apply_pod(EventType type, const nlohmann::json& object) {
  std::optional<PodInfo> fresh;
  std::string key;
  if (type == EventType::kDeleted) {
    auto meta = parse_meta(object);
    if (!meta) return refused(object, meta);
    key = meta->key();
  } else {
    auto pod = parse_pod(object);
    if (!pod) return refused(object, pod);
    key = pod->meta.key();
    if (pod->meshed) fresh = std::move(*pod);  // an unmeshed pod is as good as none
  }
  auto it = pods_.find(key);
  bool had = it != pods_.end();
  if (had && fresh && it->second == *fresh) return {};  // a status update: nothing we use
  if (!had && !fresh) return {};
  Outcome out;
  ObjectMeta changed = fresh ? fresh->meta : it->second.meta;
  out.pod = ObjectMeta{std::move(changed.ns), std::move(changed.name), {}};
  // Its IP or owner alone changes its record, not its endpoints' identities.
  bool identity_changed = !had || !fresh || !it->second.same_identity(*fresh);
  if (fresh) {
    pods_.insert_or_assign(key, std::move(*fresh));
  } else {
    pods_.erase(it);
  }
  if (!identity_changed) return out;
  if (auto s = services_of_pod_.find(key); s != services_of_pod_.end()) {
    for (const auto& [service, _] : s->second) out.affected.push_back(service);
  }
  return out;
}

ClusterState::Outcome ClusterState::apply_profile(EventType type, const nlohmann::json& object) {
  auto meta = parse_meta(object);
  if (!meta) return refused(object, meta);
  std::optional<std::string> target = profile_target(*meta, cluster_domain_);
  // Named for no Service of its namespace: it can apply to nothing, so it is not kept.
  if (!target) return {};
  Outcome out{{*target}, {}, {}};
  if (type == EventType::kDeleted) {
    profiles_.erase(*target);
    return out;
  }
  auto profile = parse_service_profile(object);
  if (!profile) {
    profiles_.erase(*target);
    out.rejected = Rejection{meta->key(), profile.error()};
    return out;
  }
  profiles_.insert_or_assign(*target, std::move(profile->profile));
  return out;
}

void ClusterState::index_slice(const EndpointSliceInfo& slice, int delta) {
  std::string service = slice.meta.ns + "/" + slice.service;
  if (delta > 0) {
    slices_of_service_[service].insert(slice.meta.key());
  } else if (auto it = slices_of_service_.find(service); it != slices_of_service_.end()) {
    it->second.erase(slice.meta.key());
    if (it->second.empty()) slices_of_service_.erase(it);
  }
  for (const SliceEndpoint& e : slice.endpoints) {
    if (e.pod.empty()) continue;
    std::string pod = e.pod_ns + "/" + e.pod;
    auto& services = services_of_pod_[pod];
    int& count = services[service];
    count += delta;
    if (count <= 0) services.erase(service);
    if (services.empty()) services_of_pod_.erase(pod);
  }
}

void ClusterState::clear(Kind kind) {
  switch (kind) {
    case Kind::kServices: services_.clear(); break;
    case Kind::kEndpointSlices:
      slices_.clear();
      slices_of_service_.clear();
      services_of_pod_.clear();
      break;
    case Kind::kPods: pods_.clear(); break;
    case Kind::kServiceProfiles: profiles_.clear(); break;
  }
}

std::vector<ServiceSpec> ClusterState::specs_of(const std::string& service) const {
  auto it = services_.find(service);
  if (it == services_.end()) return {};
  ServiceView view{it->second, {}, nullptr};
  if (auto s = slices_of_service_.find(service); s != slices_of_service_.end()) {
    for (const std::string& key : s->second) view.slices.push_back(&slices_.at(key));
  }
  if (auto p = profiles_.find(service); p != profiles_.end()) view.profile = &p->second;
  FindPod find_pod = [this](const std::string& ns, const std::string& name) -> const PodInfo* {
    auto p = pods_.find(ns + "/" + name);
    return p == pods_.end() ? nullptr : &p->second;
  };
  return translate_service(view, find_pod, cluster_domain_);
}

std::map<std::string, std::vector<ServiceSpec>> ClusterState::all_specs() const {
  std::map<std::string, std::vector<ServiceSpec>> out;
  std::unordered_set<std::string> taken;
  for (const auto& [key, _] : services_) {
    std::vector<ServiceSpec> specs = specs_of(key);
    for (const ServiceSpec& spec : specs) taken.insert(spec.authority);
    if (!specs.empty()) out.emplace(key, std::move(specs));
  }
  for (auto& [_, specs] : out) {
    for (ServiceSpec& spec : specs) {
      std::erase_if(spec.aliases,
                    [&taken](const std::string& a) { return !taken.insert(a).second; });
    }
  }
  return out;
}

std::optional<PodSpec> ClusterState::pod_spec_of(const std::string& pod) const {
  auto it = pods_.find(pod);
  if (it == pods_.end()) return std::nullopt;
  return pod_spec(it->second);
}

std::vector<PodSpec> ClusterState::pod_specs() const {
  std::vector<PodSpec> out;
  out.reserve(pods_.size());
  for (const auto& [_, pod] : pods_) out.push_back(pod_spec(pod));
  return out;
}

size_t ClusterState::size(Kind kind) const {
  switch (kind) {
    case Kind::kServices: return services_.size();
    case Kind::kEndpointSlices: return slices_.size();
    case Kind::kPods: return pods_.size();
    case Kind::kServiceProfiles: return profiles_.size();
  }
  return 0;
}

}  // namespace lmesh::destination::kubernetes
