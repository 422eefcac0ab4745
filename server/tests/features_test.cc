#include "server/features.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "server/config.h"

namespace runnel::server {
namespace {

using protocol::ErrorCode;
using U = Features::UpgradeType;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/runnel-features-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(Features, DefaultsAreKafka44Levels) {
  Features f;
  EXPECT_EQ(f.level(kTransactionVersion), 2);
  EXPECT_EQ(f.level(kGroupVersion), 1);
  EXPECT_EQ(f.level(kMetadataVersion), 33);
  EXPECT_EQ(f.level("kraft.version"), 0);
  EXPECT_EQ(f.epoch(), 0);
}

TEST(Features, ConfigurationSetsALevel) {
  Features f(Config::from_text("feature.transaction.version=1\nfeature.group.version=0\n"));
  EXPECT_EQ(f.level(kTransactionVersion), 1);
  EXPECT_EQ(f.level(kGroupVersion), 0);
  EXPECT_FALSE(f.finalized().count(std::string(kGroupVersion)));  // level 0 is not finalized
  EXPECT_THROW(Config::from_text("feature.transaction.version=3\n"), ConfigError);
}

TEST(Features, UpdatesAreCheckedAsKafkaChecksThem) {
  Features f;
  auto refused = [&](std::vector<Features::Update> u) {
    auto r = f.update(u, false, 1);
    EXPECT_EQ(r.error, ErrorCode::INVALID_UPDATE_VERSION) << r.message;
    return r.message;
  };
  EXPECT_NE(refused({{"no.such.feature", 1}}).find("does not support this feature"),
            std::string::npos);
  EXPECT_NE(refused({{"no.such.feature", 0, U::kSafeDowngrade}}).find("not found"),
            std::string::npos);
  EXPECT_NE(refused({{"transaction.version", 3}}).find("only supports versions 0-2"),
            std::string::npos);
  EXPECT_NE(refused({{"transaction.version", 1}}).find("Can't downgrade the version"),
            std::string::npos);
  EXPECT_NE(refused({{"metadata.version", 20, U::kSafeDowngrade}}).find("Refusing"),
            std::string::npos);
  // All or nothing: one refused update stops the others.
  refused({{"group.version", 0, U::kSafeDowngrade}, {"transaction.version", 9}});
  EXPECT_EQ(f.level(kGroupVersion), 1);
  EXPECT_EQ(f.epoch(), 0);
  // A dry run changes nothing.
  EXPECT_EQ(f.update({{"transaction.version", 1, U::kSafeDowngrade}}, true, 1).error,
            ErrorCode::NONE);
  EXPECT_EQ(f.level(kTransactionVersion), 2);
}

TEST(Features, ChangesAreStoredAndListenersTold) {
  TempDir dir;
  std::vector<std::pair<std::string, int16_t>> seen;
  {
    Features f;
    std::string error;
    ASSERT_TRUE(f.load(dir.path(), &error)) << error;
    f.on_change([&](std::string_view n, int16_t l) { seen.emplace_back(std::string(n), l); });
    ASSERT_EQ(f.update({{"transaction.version", 1, U::kSafeDowngrade}}, false, 1).error,
              ErrorCode::NONE);
    ASSERT_EQ(f.update({{"group.version", 0, U::kUnsafeDowngrade}}, false, 1).error,
              ErrorCode::NONE);
    EXPECT_EQ(f.epoch(), 2);
  }
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, int16_t>>{{"transaction.version", 1},
                                                                {"group.version", 0}}));
  Features again;
  std::string error;
  ASSERT_TRUE(again.load(dir.path(), &error)) << error;
  EXPECT_EQ(again.level(kTransactionVersion), 1);
  EXPECT_EQ(again.level(kGroupVersion), 0);
  EXPECT_EQ(again.epoch(), 2);
  // A level the configuration names wins over the stored one.
  Features configured(Config::from_text("feature.transaction.version=2\n"));
  ASSERT_TRUE(configured.load(dir.path(), &error)) << error;
  EXPECT_EQ(configured.level(kTransactionVersion), 2);
  EXPECT_EQ(configured.level(kGroupVersion), 0);
}

TEST(Features, AMalformedFileIsRefused) {
  TempDir dir;
  for (const char* text : {"transaction.version=x\n", "transaction.version=7\n", "no.such=1\n",
                           "junk\n", "epoch=-1\n"}) {
    std::ofstream(dir.path() + "/features.properties") << text;
    Features f;
    std::string error;
    EXPECT_FALSE(f.load(dir.path(), &error)) << text;
    EXPECT_NE(error.find("features.properties"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace runnel::server
