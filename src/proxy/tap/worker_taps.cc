#include "proxy/tap/worker_taps.h"

#include <uv.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

#include "proxy/discovery/endpoint_identities.h"

namespace lmesh::proxy {

namespace {

int64_t unix_micros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

// The fields any of the subscribers asked to see (they differ only when their filters do).
nlohmann::json selected_headers(const std::vector<std::shared_ptr<TapSubscription>>& subscribers,
                                const http::HeaderMap& headers) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& s : subscribers) {
    for (const std::string& name : s->filter().headers) {
      if (out.contains(name)) continue;
      if (auto value = headers.get(name)) out[name] = std::string(*value);
    }
  }
  return out;
}

TapRequestView view_of(const TapRequestStart& s) {
  return {s.direction, s.authority, s.path, s.method, &s.source, nullptr, s.client_id, {}};
}

}  // namespace

std::unique_ptr<TapRequest> WorkerTaps::begin(const TapRequestStart& start) {
  std::vector<std::shared_ptr<TapSubscription>> candidates;
  TapRequestView view = view_of(start);
  uint64_t now = uv_hrtime();
  for (const auto& s : *subscribers_) {
    if (s->filter().may_match(view) && s->has_budget(worker_index_, now)) candidates.push_back(s);
  }
  if (candidates.empty()) return nullptr;
  return std::make_unique<TapRequest>(next_id_++, worker_index_, std::move(candidates), start);
}

TapRequest::TapRequest(uint64_t id, size_t worker,
                       std::vector<std::shared_ptr<TapSubscription>> candidates,
                       const TapRequestStart& start)
    : id_(std::to_string(worker) + ":" + std::to_string(id)),
      worker_(worker),
      candidates_(std::move(candidates)),
      direction_(start.direction),
      source_(start.source),
      destination_(start.destination),
      tls_(start.tls),
      client_id_(start.client_id),
      method_(start.method),
      scheme_(start.scheme),
      authority_(start.authority),
      path_(start.path),
      start_ns_(uv_hrtime()) {
  for (const auto& s : candidates_) {
    for (const std::string& name : s->filter().headers) {
      if (std::ranges::any_of(request_headers_, [&](const auto& kv) { return kv.first == name; }))
        continue;
      if (auto value = start.headers.get(name)) request_headers_.emplace_back(name, *value);
    }
  }
}

TapRequest::~TapRequest() {
  if (!ended_) end(0, std::nullopt, "connection closed");
}

void TapRequest::routed(const net::SocketAddress& endpoint, const EndpointIdentities& identities) {
  if (init_done_) return;
  destination_ = endpoint;
  if (direction_ == Direction::kOutbound) {
    const std::string* identity = identities.expected(endpoint);
    if (identity != nullptr && identities.identity_enabled()) {
      server_id_ = *identity;
      tls_ = TlsLabel::kTrue;
    }
  }
  emit_init();
}

void TapRequest::emit_init() {
  init_done_ = true;
  TapRequestView view{direction_, authority_, path_,
                      method_,    &source_,   destination_ ? &*destination_ : nullptr,
                      client_id_, server_id_};
  for (auto& s : candidates_) {
    if (s->filter().matches(view) && s->admit(worker_)) subscribers_.push_back(std::move(s));
  }
  candidates_.clear();
  if (subscribers_.empty()) return;
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [name, value] : request_headers_) headers[name] = value;
  emit(nlohmann::json{{"kind", "request_init"},
                      {"id", id_},
                      {"ts_us", unix_micros()},
                      {"direction", to_string(direction_)},
                      {"source", source_.to_string()},
                      {"destination", destination_ ? destination_->to_string() : ""},
                      {"tls", to_string(tls_)},
                      {"client_id", client_id_},
                      {"server_id", server_id_},
                      {"method", method_},
                      {"scheme", scheme_},
                      {"authority", authority_},
                      {"path", path_},
                      {"headers", std::move(headers)}}
           .dump());
}

void TapRequest::response_head(uint16_t status, const http::HeaderMap& headers) {
  if (!init_done_) emit_init();
  if (head_done_) return;
  head_done_ = true;
  response_ns_ = uv_hrtime();
  if (subscribers_.empty()) return;
  emit(nlohmann::json{{"kind", "response_init"},
                      {"id", id_},
                      {"ts_us", unix_micros()},
                      {"latency_us", (response_ns_ - start_ns_) / 1000},
                      {"status", status},
                      {"headers", selected_headers(subscribers_, headers)}}
           .dump());
}

void TapRequest::end(uint16_t status, std::optional<uint32_t> grpc_status, std::string_view reset) {
  if (ended_) return;
  if (!init_done_) emit_init();
  if (!head_done_ && status != 0) response_head(status, http::HeaderMap());
  ended_ = true;
  if (subscribers_.empty()) return;
  uint64_t now = uv_hrtime();
  nlohmann::json event{{"kind", "response_end"},
                       {"id", id_},
                       {"ts_us", unix_micros()},
                       {"duration_us", head_done_ ? (now - response_ns_) / 1000 : 0},
                       {"response_bytes", response_bytes_},
                       {"reset", reset},
                       {"error", error_}};
  if (grpc_status) event["grpc_status"] = *grpc_status;
  emit(event.dump());
  subscribers_.clear();
}

void TapRequest::emit(std::string line) {
  if (subscribers_.size() == 1) {
    subscribers_.front()->push(std::move(line));
    return;
  }
  for (const auto& s : subscribers_) s->push(line);
}

}  // namespace lmesh::proxy
