// MeshFileBackend and FileWatcher (src/destination/) on a real loop with a real file: the first
// load, reloads when the file is replaced (rename, as editors do) or rewritten in place, a bad
// edit that keeps the last good state, and start-up refusals.
#include "destination/mesh_file_backend.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <catch2/catch.hpp>

#include "common/net/loop_helpers.h"

namespace lmesh::destination {
namespace {

using namespace std::chrono_literals;
using net::testing::run_for;
using net::testing::run_until;
using net::testing::stop_and_close;

struct TempDir {
  TempDir() {
    char dir_template[] = "/tmp/lmesh-mesh-XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    dir = dir_template;
    path = dir + "/mesh.yaml";
  }
  ~TempDir() {
    std::remove(path.c_str());
    std::remove((path + ".new").c_str());
    ::rmdir(dir.c_str());
  }
  // Written aside and renamed into place, as editors and config managers do.
  void replace(const std::string& text) const {
    std::string tmp = path + ".new";
    std::ofstream(tmp, std::ios::trunc) << text;
    REQUIRE(std::rename(tmp.c_str(), path.c_str()) == 0);
  }
  void overwrite(const std::string& text) const { std::ofstream(path, std::ios::trunc) << text; }
  std::string dir;
  std::string path;
};

std::string mesh(const std::string& endpoint) {
  return "services:\n  web:80:\n    endpoints:\n      - addr: " + endpoint + "\n";
}

uint64_t reloads(DestinationMetrics& m, const char* result) {
  std::string text = m.render();
  std::string key = std::string("destination_reload_total{result=\"") + result + "\"} ";
  size_t at = text.find(key);
  REQUIRE(at != std::string::npos);
  return std::stoull(text.substr(at + key.size()));
}

TEST_CASE("the mesh file is loaded at start and followed", "[destination][file-backend]") {
  TempDir d;
  d.replace(mesh("1.1.1.1:80"));
  event::Worker w(0);
  {
    DestinationMetrics metrics;
    Store store(metrics);
    MeshFileBackend backend(w, store, metrics, d.path, 20ms);
    REQUIRE(backend.start().has_value());
    CHECK(store.ready());
    auto endpoint = [&] {
      const ServiceSpec* s = store.find("web:80");
      return s == nullptr || s->endpoints.empty() ? std::string()
                                                  : s->endpoints[0].address.to_string();
    };
    CHECK(endpoint() == "1.1.1.1:80");

    d.replace(mesh("1.1.1.2:80"));  // a new inode: the directory watch still sees it
    REQUIRE(run_until(
        w, [&] { return endpoint() == "1.1.1.2:80"; }, 5s));
    d.replace(mesh("1.1.1.3:80"));
    REQUIRE(run_until(
        w, [&] { return endpoint() == "1.1.1.3:80"; }, 5s));
    d.overwrite(mesh("1.1.1.4:80"));  // in place, truncate then write
    REQUIRE(run_until(
        w, [&] { return endpoint() == "1.1.1.4:80"; }, 5s));
    CHECK(reloads(metrics, "ok") == 4);

    // A bad edit: counted, and the last good state stays.
    d.replace(
        "services:\n  web:80:\n    endpoints:\n      - addr: 1.1.1.5:80\n        weight: 0\n");
    REQUIRE(run_until(
        w, [&] { return reloads(metrics, "error") == 1; }, 5s));
    CHECK(endpoint() == "1.1.1.4:80");

    // Other files in the directory are none of its business.
    std::ofstream(d.dir + "/other.yaml") << "x";
    run_for(w, 100ms);
    std::remove((d.dir + "/other.yaml").c_str());
    CHECK(reloads(metrics, "error") == 1);
    CHECK(reloads(metrics, "ok") == 4);

    d.replace(mesh("1.1.1.6:80"));
    REQUIRE(run_until(
        w, [&] { return endpoint() == "1.1.1.6:80"; }, 5s));
  }
  stop_and_close(w);
}

TEST_CASE("a burst of changes is read once", "[destination][file-backend]") {
  TempDir d;
  d.replace(mesh("1.1.1.1:80"));
  event::Worker w(0);
  {
    int changes = 0;
    FileWatcher watcher(w, d.path, 50ms, [&] { ++changes; });
    REQUIRE(watcher.start().has_value());
    CHECK(watcher.directory() == d.dir);
    CHECK(watcher.file_name() == "mesh.yaml");
    for (int i = 0; i < 5; ++i) d.replace(mesh("1.1.1." + std::to_string(i) + ":80"));
    REQUIRE(run_until(
        w, [&] { return changes >= 1; }, 5s));
    run_for(w, 150ms);
    CHECK(changes == 1);
  }
  stop_and_close(w);
}

TEST_CASE("a missing or bad file refuses to start", "[destination][file-backend]") {
  TempDir d;
  event::Worker w(0);
  {
    DestinationMetrics metrics;
    Store store(metrics);
    {
      MeshFileBackend backend(w, store, metrics, d.path, 20ms);
      auto missing = backend.start();
      REQUIRE(!missing.has_value());
      CHECK(missing.error().describe().find("No such file or directory") != std::string::npos);
    }
    d.replace("services:\n  web:80:\n    endpoints: [{addr: nope}]\n");
    {
      MeshFileBackend backend(w, store, metrics, d.path, 20ms);
      auto bad = backend.start();
      REQUIRE(!bad.has_value());
      CHECK(bad.error().describe() ==
            d.path + ":3: services/web:80/endpoints/0/addr: must be IP:port, got \"nope\"");
    }
    {
      MeshFileBackend backend(w, store, metrics, "/nonexistent-dir/mesh.yaml", 20ms);
      auto no_dir = backend.start();
      REQUIRE(!no_dir.has_value());
      CHECK(no_dir.error().describe().find("/nonexistent-dir") != std::string::npos);
    }
    CHECK(!store.ready());
    CHECK(reloads(metrics, "error") == 2);
  }
  stop_and_close(w);
}

TEST_CASE("the mesh file's pods are loaded and reloaded", "[destination][file-backend][pods]") {
  TempDir d;
  auto file = [](const std::string& addr) {
    return mesh("1.1.1.1:80") + "pods:\n  - {name: web-1, addr: " + addr + "}\n";
  };
  d.replace(file("198.18.0.1"));
  event::Worker w(0);
  {
    DestinationMetrics metrics;
    Store store(metrics);
    MeshFileBackend backend(w, store, metrics, d.path, 20ms);
    REQUIRE(backend.start().has_value());
    auto admin = [&] {
      auto it = store.pods().find({"default", "web-1"});
      return it == store.pods().end() ? std::string("none") : it->second.admin;
    };
    CHECK(admin() == "198.18.0.1:4191");
    d.replace(file("198.18.0.2"));
    REQUIRE(run_until(
        w, [&] { return admin() == "198.18.0.2:4191"; }, 5s));
    // A bad pod is a bad file: the last good state stays.
    d.replace(file("198.18.0.3:80"));
    REQUIRE(run_until(
        w, [&] { return reloads(metrics, "error") == 1; }, 5s));
    CHECK(admin() == "198.18.0.2:4191");
    d.replace(mesh("1.1.1.1:80"));  // no pods: none
    REQUIRE(run_until(
        w, [&] { return admin() == "none"; }, 5s));
  }
  stop_and_close(w);
}

}  // namespace
}  // namespace lmesh::destination
