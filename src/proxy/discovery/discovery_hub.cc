#include "proxy/discovery/discovery_hub.h"

#include <spdlog/spdlog.h>
#include <uv.h>

#include <algorithm>
#include <vector>

#include "common/discovery/endpoint.h"
#include "common/discovery/profile.h"

namespace lmesh::proxy {

struct DiscoveryHub::Followed {
  std::string authority;
  std::unique_ptr<api::Watch> resolve;
  std::unique_ptr<api::Watch> profile;
  std::unordered_map<net::SocketAddress, discovery::Endpoint> endpoints;
  std::shared_ptr<const discovery::Profile> current_profile =
      std::make_shared<const discovery::Profile>();
  // The next resolve line starts a stream: it replaces the endpoint set instead of adding.
  bool resolve_restarted = true;
  bool resolve_ok = false;  // the stream's status was 200: its lines are updates
  bool profile_ok = false;
  bool answered = false;  // resolve said something
  // The profile stream said something (its first profile, 404 or an error): a service's
  // first snapshot waits for it, so that its first requests already see its routes and split.
  bool profile_answered = false;
  bool not_found = false;
  uint64_t not_found_at_ns = 0;
  uint64_t followed_at_ns = 0;
};

namespace {

bool unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == ':';
}

metrics::SeriesSnapshot series(std::vector<std::string> labels, double value) {
  metrics::SeriesSnapshot s;
  s.label_values = std::move(labels);
  s.value = value;
  return s;
}

}  // namespace

std::string discovery_target(std::string_view path, std::string_view authority) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out(path);
  out += "?authority=";
  for (char c : authority) {
    if (unreserved(c)) {
      out += c;
    } else {
      auto b = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    }
  }
  return out;
}

DiscoveryHub::DiscoveryHub(event::Worker& control, net::SocketAddress destination,
                           api::ClientOptions options, Publish publish,
                           std::chrono::milliseconds not_found_ttl)
    : control_(control),
      client_(control, std::move(destination), std::move(options)),
      publish_(std::move(publish)),
      not_found_ttl_(not_found_ttl),
      sweep_timer_(control.loop(), [this] { sweep(); }) {
  sweep_timer_.arm(not_found_ttl_);
}

DiscoveryHub::~DiscoveryHub() {
  // Watches first: the client they run on must outlive them.
  followed_.clear();
}

void DiscoveryHub::subscribe(const std::string& authority) {
  auto [it, added] = followed_.try_emplace(authority);
  if (added) {
    it->second = std::make_unique<Followed>();
    it->second->authority = authority;
    follow(*it->second);
    return;
  }
  Followed& f = *it->second;
  if (f.not_found) {
    uint64_t age_ns = uv_hrtime() - f.not_found_at_ns;
    if (age_ns >= static_cast<uint64_t>(std::chrono::nanoseconds(not_found_ttl_).count())) {
      follow(f);  // replaces the stopped watches (they are not on the stack: this is a task)
      return;
    }
  }
  if (f.answered && (f.not_found || f.profile_answered)) publish(f);
}

void DiscoveryHub::sweep() {
  const uint64_t now = uv_hrtime();
  const auto ttl = static_cast<uint64_t>(std::chrono::nanoseconds(not_found_ttl_).count());
  // Known services stay followed: their number is the mesh's, not the applications'.
  std::erase_if(followed_, [&](const auto& entry) {
    const Followed& f = *entry.second;
    if (f.not_found) return now - f.not_found_at_ns >= ttl;
    return !f.answered && now - f.followed_at_ns >= 2 * ttl;
  });
  sweep_timer_.arm(not_found_ttl_);
}

void DiscoveryHub::follow(Followed& f) {
  f.followed_at_ns = uv_hrtime();
  f.not_found = false;
  f.answered = false;
  f.profile_answered = false;
  f.resolve_restarted = true;
  f.endpoints.clear();
  Followed* fp = &f;
  api::WatchCallbacks resolve;
  resolve.on_open = [this, fp](int status) {
    fp->resolve_restarted = true;
    fp->resolve_ok = status == 200;
    if (status == 404) {
      fp->not_found = true;
      fp->not_found_at_ns = uv_hrtime();
      fp->answered = true;
      fp->endpoints.clear();
      spdlog::debug("discovery authority={} unknown to the destination service", fp->authority);
      publish(*fp);
      return false;
    }
    if (status != 200) {
      ++stream_errors_;
      spdlog::warn("discovery authority={} resolve answered {}: retrying", fp->authority, status);
    }
    return true;  // a non-200 stream ends and the watch retries with backoff
  };
  resolve.on_line = [this, fp](std::string_view line) {
    if (fp->resolve_ok) on_resolve_line(*fp, line);
  };
  resolve.on_error = [this, fp](const Error& why, std::chrono::milliseconds retry_in) {
    ++stream_errors_;
    spdlog::warn(
        "discovery authority={} resolve stream: {}; keeping {} known endpoints, "
        "retrying in {} ms",
        fp->authority, why.describe(), fp->endpoints.size(), retry_in.count());
  };
  f.resolve = client_.watch(discovery_target("/v1/resolve", f.authority), std::move(resolve));

  api::WatchCallbacks profile;
  profile.on_open = [this, fp](int status) {
    fp->profile_ok = status == 200;
    if (status != 200) profile_settled(*fp);
    return status != 404;  // no profile: the default one stays
  };
  profile.on_line = [this, fp](std::string_view line) {
    if (fp->profile_ok) on_profile_line(*fp, line);
  };
  profile.on_error = [this, fp](const Error&, std::chrono::milliseconds) {
    ++stream_errors_;
    profile_settled(*fp);  // the service is served without its profile until it comes
  };
  f.profile = client_.watch(discovery_target("/v1/profile", f.authority), std::move(profile));
}

void DiscoveryHub::on_resolve_line(Followed& f, std::string_view line) {
  auto update = discovery::parse_resolve_line(line);
  if (!update) {
    // One bad line is dropped, not the whole stream: the next good one still applies.
    ++bad_updates_;
    spdlog::warn("discovery authority={} bad resolve update: {}", f.authority,
                 update.error().describe());
    return;
  }
  if (std::exchange(f.resolve_restarted, false)) f.endpoints.clear();
  if (update->no_endpoints) f.endpoints.clear();
  for (const auto& gone : update->remove) f.endpoints.erase(gone);
  for (auto& e : update->add) {
    net::SocketAddress key = e.address;
    f.endpoints.insert_or_assign(key, std::move(e));
  }
  f.answered = true;
  if (f.profile_answered) publish(f);
}

void DiscoveryHub::on_profile_line(Followed& f, std::string_view line) {
  auto profile = discovery::parse_profile_line(line);
  if (!profile) {
    ++bad_updates_;
    spdlog::warn("discovery authority={} bad profile: {}; keeping the previous one", f.authority,
                 profile.error().describe());
    return;
  }
  f.current_profile = std::make_shared<const discovery::Profile>(std::move(*profile));
  if (!f.profile_answered) {
    profile_settled(f);
  } else if (f.answered && !f.not_found) {
    publish(f);
  }
}

void DiscoveryHub::profile_settled(Followed& f) {
  if (std::exchange(f.profile_answered, true)) return;
  if (f.answered && !f.not_found) publish(f);  // resolve answered first and waited for this
}

void DiscoveryHub::publish(Followed& f) {
  auto s = std::make_shared<ServiceSnapshot>();
  s->authority = f.authority;
  s->state = f.not_found ? ServiceSnapshot::State::kNotFound : ServiceSnapshot::State::kResolved;
  s->profile = f.current_profile;
  s->endpoints.reserve(f.endpoints.size());
  for (const auto& [_, e] : f.endpoints) s->endpoints.push_back(e);
  // A stable order, so that snapshots compare and log the same way on every worker.
  std::sort(s->endpoints.begin(), s->endpoints.end(),
            [](const discovery::Endpoint& a, const discovery::Endpoint& b) {
              return a.address.to_string() < b.address.to_string();
            });
  publish_(std::move(s));
}

void DiscoveryHub::append_metrics(metrics::Snapshot& snapshot) const {
  size_t resolved = 0;
  size_t not_found = 0;
  size_t waiting = 0;
  for (const auto& [_, f] : followed_) {
    if (!f->answered) {
      ++waiting;
    } else if (f->not_found) {
      ++not_found;
    } else {
      ++resolved;
    }
  }
  metrics::FamilySnapshot& a = snapshot.families.emplace_back();
  a.name = "discovery_authorities";
  a.help = "Authorities this proxy follows through the destination service, by state";
  a.type = metrics::MetricType::kGauge;
  a.label_names = {"state"};
  a.series.push_back(series({"not_found"}, static_cast<double>(not_found)));
  a.series.push_back(series({"resolved"}, static_cast<double>(resolved)));
  a.series.push_back(series({"waiting"}, static_cast<double>(waiting)));
  metrics::FamilySnapshot& e = snapshot.families.emplace_back();
  e.name = "discovery_errors_total";
  e.help = "Destination streams that broke or answered an error, and updates that did not parse";
  e.type = metrics::MetricType::kCounter;
  e.label_names = {"kind"};
  e.series.push_back(series({"bad_update"}, static_cast<double>(bad_updates_)));
  e.series.push_back(series({"stream"}, static_cast<double>(stream_errors_)));
}

}  // namespace lmesh::proxy
