#include "tools/consumer_groups_core.h"

#include <algorithm>
#include <charconv>
#include <ctime>

#include "protocol/errors.h"
#include "protocol/messages/consumer_protocol_assignment.h"
#include "protocol/wire.h"

namespace runnel::tools::groups {

namespace {

template <class T>
bool parse_int(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    out.emplace_back(s.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string usage() {
  return R"(runnel-consumer-groups: list, describe, reset and delete consumer groups.

Usage:
  runnel-consumer-groups --bootstrap-server HOST:PORT --list [--state [STATE,...]]
  runnel-consumer-groups --bootstrap-server HOST:PORT --describe (--group G ... | --all-groups)
                         [--offsets | --members [--verbose] | --state]
  runnel-consumer-groups --bootstrap-server HOST:PORT --reset-offsets (--group G ... | --all-groups)
                         (--topic T[:P,P...] ... | --all-topics)
                         (--to-earliest | --to-latest | --to-offset N | --shift-by N |
                          --to-datetime YYYY-MM-DDTHH:mm:SS.sss[Z|+HH:mm])
                         [--dry-run | --execute]
  runnel-consumer-groups --bootstrap-server HOST:PORT --delete (--group G ... | --all-groups)
  runnel-consumer-groups --bootstrap-server HOST:PORT --delete-offsets --group G --topic T[:P,...] ...

Other options:
  --timeout MS   time limit of each connection and request (default 30000)
  --help         this text
)";
}

bool parse_host_port(std::string_view s, std::string& host, int& port) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view h = s.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) return false;
  int p = 0;
  if (!parse_int(s.substr(colon + 1), p) || p <= 0 || p > 65535) return false;
  host = std::string(h);
  port = p;
  return true;
}

std::optional<TopicSpec> parse_topic_spec(std::string_view s) {
  TopicSpec spec;
  size_t colon = s.find(':');
  spec.topic = std::string(s.substr(0, colon));
  if (spec.topic.empty()) return std::nullopt;
  if (colon == std::string_view::npos) return spec;
  for (const auto& part : split(s.substr(colon + 1), ',')) {
    int32_t p = 0;
    if (!parse_int(std::string_view(part), p) || p < 0) return std::nullopt;
    spec.partitions.push_back(p);
  }
  return spec;
}

std::optional<int64_t> parse_datetime(std::string_view s) {
  // yyyy-MM-ddTHH:mm:ss is 19 characters.
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  auto field = [&](size_t at, size_t n, int& out) {
    std::string_view f = s.substr(at, n);
    return all_digits(f) && parse_int(f, out);
  };
  if (!field(0, 4, year) || !field(5, 2, month) || !field(8, 2, day) || !field(11, 2, hour) ||
      !field(14, 2, minute) || !field(17, 2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59)
    return std::nullopt;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kDays[month - 1] || (month == 2 && day == 29 && !leap)) return std::nullopt;

  std::string_view rest = s.substr(19);
  int64_t millis = 0;
  if (!rest.empty() && rest[0] == '.') {
    size_t n = 1;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    std::string_view frac = rest.substr(1, n - 1);
    if (frac.empty() || frac.size() > 9) return std::nullopt;
    // Milliseconds: the first three digits, padded on the right.
    std::string ms(frac.substr(0, std::min<size_t>(3, frac.size())));
    ms.resize(3, '0');
    int v = 0;
    parse_int(std::string_view(ms), v);
    millis = v;
    rest = rest.substr(n);
  }

  int64_t local_seconds =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
      hour * 3600 + minute * 60 + second;
  if (rest.empty()) {
    // No zone: the local time zone, as Kafka does.
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    tm.tm_isdst = -1;
    std::time_t t = std::mktime(&tm);
    if (t == static_cast<std::time_t>(-1) && local_seconds != -1) return std::nullopt;
    return static_cast<int64_t>(t) * 1000 + millis;
  }
  if (rest == "Z") return local_seconds * 1000 + millis;
  char sign = rest[0];
  if (sign != '+' && sign != '-') return std::nullopt;
  std::string_view z = rest.substr(1);
  int zh = 0, zm = 0;
  if (z.size() == 2 && all_digits(z)) {
    parse_int(z, zh);
  } else if (z.size() == 4 && all_digits(z)) {
    parse_int(z.substr(0, 2), zh);
    parse_int(z.substr(2, 2), zm);
  } else if (z.size() == 5 && z[2] == ':' && all_digits(z.substr(0, 2)) &&
             all_digits(z.substr(3, 2))) {
    parse_int(z.substr(0, 2), zh);
    parse_int(z.substr(3, 2), zm);
  } else {
    return std::nullopt;
  }
  if (zh > 18 || zm > 59) return std::nullopt;
  int64_t offset = (zh * 3600 + zm * 60) * (sign == '+' ? 1 : -1);
  return (local_seconds - offset) * 1000 + millis;
}

std::optional<int64_t> compute_lag(std::optional<int64_t> committed,
                                   std::optional<int64_t> log_end) {
  if (!committed || *committed < 0 || !log_end || *log_end < 0) return std::nullopt;
  return *log_end - *committed;
}

ResetOutcome compute_reset(ResetSpec spec, int64_t value, const PartitionOffsets& p,
                           const std::string& partition_name) {
  ResetOutcome out;
  auto clamp = [&](int64_t wanted) {
    if (wanted < p.earliest) {
      out.warning = "New offset (" + std::to_string(wanted) +
                    ") is lower than earliest offset for topic partition " + partition_name +
                    ". Value will be set to " + std::to_string(p.earliest);
      out.offset = p.earliest;
    } else if (wanted > p.latest) {
      out.warning = "New offset (" + std::to_string(wanted) +
                    ") is higher than latest offset for topic partition " + partition_name +
                    ". Value will be set to " + std::to_string(p.latest);
      out.offset = p.latest;
    } else {
      out.offset = wanted;
    }
  };
  switch (spec) {
    case ResetSpec::ToEarliest:
      out.offset = p.earliest;
      break;
    case ResetSpec::ToLatest:
      out.offset = p.latest;
      break;
    case ResetSpec::ToOffset:
      clamp(value);
      break;
    case ResetSpec::ToDatetime:
      // No record at or after the time: the log end.
      out.offset = p.at_timestamp && *p.at_timestamp >= 0 ? *p.at_timestamp : p.latest;
      break;
    case ResetSpec::ShiftBy:
      if (!p.committed || *p.committed < 0) {
        out.error = "Cannot shift offset for partition " + partition_name +
                    " since there is no current committed offset";
        break;
      }
      // Saturate instead of overflowing; the clamp brings it back in range.
      if (value > 0 && *p.committed > INT64_MAX - value)
        clamp(INT64_MAX);
      else if (value < 0 && *p.committed < INT64_MIN - value)
        clamp(INT64_MIN);
      else
        clamp(*p.committed + value);
      break;
    case ResetSpec::None:
      out.error = "no reset scenario";
      break;
  }
  return out;
}

std::optional<std::vector<AssignedTopic>> decode_assignment(std::span<const uint8_t> bytes) {
  std::vector<AssignedTopic> out;
  if (bytes.empty()) return out;
  protocol::Reader r(bytes);
  int16_t version = r.i16();
  if (!r.ok() || version < 0) return std::nullopt;
  protocol::ConsumerProtocolAssignment a;
  // A newer version than known is read as the newest known one; its extra
  // fields follow and are left unread, as Kafka's own reader does.
  int16_t v = std::min(version, protocol::ConsumerProtocolAssignment::kMaxVersion);
  a.decode(r, v);
  if (!r.ok()) return std::nullopt;
  if (version <= protocol::ConsumerProtocolAssignment::kMaxVersion && !r.done())
    return std::nullopt;
  for (auto& tp : a.assigned_partitions) out.push_back({tp.topic, tp.partitions});
  return out;
}

std::string error_name(int16_t code) { return protocol::error_name(code); }

std::string format_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(headers.size());
  for (size_t c = 0; c < headers.size(); ++c) width[c] = headers[c].size();
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size() && c < width.size(); ++c)
      width[c] = std::max(width[c], row[c].size());
  std::string out = "\n";
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t c = 0; c < headers.size(); ++c) {
      const std::string cell = c < cells.size() ? cells[c] : "";
      l += cell;
      if (c + 1 < headers.size()) l += std::string(width[c] - cell.size() + 1, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(headers);
  for (const auto& row : rows) line(row);
  return out;
}

std::optional<Options> parse_args(std::span<const std::string> args, std::string& error) {
  Options o;
  std::vector<Command> commands;
  std::vector<ResetSpec> specs;
  bool state_value_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::optional<std::string> inline_value;
    if (arg.rfind("--", 0) == 0) {
      size_t eq = arg.find('=');
      if (eq != std::string::npos) {
        inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
    }
    auto value = [&](std::string& out) {
      if (inline_value) {
        out = *inline_value;
        return true;
      }
      if (i + 1 >= args.size()) {
        error = "Option " + arg + " requires an argument";
        return false;
      }
      out = args[++i];
      return true;
    };
    auto no_value = [&]() {
      if (inline_value) {
        error = "Option " + arg + " does not take an argument";
        return false;
      }
      return true;
    };
    std::string v;
    if (arg == "--bootstrap-server") {
      if (!value(o.bootstrap_server)) return std::nullopt;
    } else if (arg == "--list") {
      if (!no_value()) return std::nullopt;
      commands.push_back(Command::List);
    } else if (arg == "--describe") {
      if (!no_value()) return std::nullopt;
      commands.push_back(Command::Describe);
    } else if (arg == "--reset-offsets") {
      if (!no_value()) return std::nullopt;
      commands.push_back(Command::ResetOffsets);
    } else if (arg == "--delete") {
      if (!no_value()) return std::nullopt;
      commands.push_back(Command::Delete);
    } else if (arg == "--delete-offsets") {
      if (!no_value()) return std::nullopt;
      commands.push_back(Command::DeleteOffsets);
    } else if (arg == "--group") {
      if (!value(v)) return std::nullopt;
      o.groups.push_back(v);
    } else if (arg == "--all-groups") {
      if (!no_value()) return std::nullopt;
      o.all_groups = true;
    } else if (arg == "--members") {
      if (!no_value()) return std::nullopt;
      o.members = true;
    } else if (arg == "--verbose") {
      if (!no_value()) return std::nullopt;
      o.verbose = true;
    } else if (arg == "--offsets") {
      if (!no_value()) return std::nullopt;
    } else if (arg == "--state") {
      o.state = true;
      // The value is optional: the next argument unless it is an option.
      if (inline_value) {
        v = *inline_value;
      } else if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
        v = args[++i];
      } else {
        continue;
      }
      state_value_given = true;
      for (auto& s : split(v, ','))
        if (!s.empty()) o.state_filter.push_back(s);
    } else if (arg == "--topic") {
      if (!value(v)) return std::nullopt;
      auto spec = parse_topic_spec(v);
      if (!spec) {
        error = "Invalid --topic '" + v + "': expected TOPIC or TOPIC:PARTITION,PARTITION...";
        return std::nullopt;
      }
      o.topics.push_back(*spec);
    } else if (arg == "--all-topics") {
      if (!no_value()) return std::nullopt;
      o.all_topics = true;
    } else if (arg == "--to-earliest") {
      if (!no_value()) return std::nullopt;
      specs.push_back(ResetSpec::ToEarliest);
    } else if (arg == "--to-latest") {
      if (!no_value()) return std::nullopt;
      specs.push_back(ResetSpec::ToLatest);
    } else if (arg == "--to-offset" || arg == "--shift-by") {
      if (!value(v)) return std::nullopt;
      if (!parse_int(std::string_view(v), o.reset_value) ||
          (arg == "--to-offset" && o.reset_value < 0)) {
        error = "Invalid value '" + v + "' for " + arg;
        return std::nullopt;
      }
      specs.push_back(arg == "--to-offset" ? ResetSpec::ToOffset : ResetSpec::ShiftBy);
    } else if (arg == "--to-datetime") {
      if (!value(v)) return std::nullopt;
      auto ts = parse_datetime(v);
      if (!ts) {
        error = "Invalid --to-datetime '" + v +
                "': expected format 'YYYY-MM-DDTHH:mm:SS.sss', optionally followed by a zone "
                "such as 'Z' or '+01:00'";
        return std::nullopt;
      }
      o.reset_value = *ts;
      specs.push_back(ResetSpec::ToDatetime);
    } else if (arg == "--dry-run") {
      if (!no_value()) return std::nullopt;
      o.dry_run = true;
    } else if (arg == "--execute") {
      if (!no_value()) return std::nullopt;
      o.execute = true;
    } else if (arg == "--timeout") {
      if (!value(v)) return std::nullopt;
      if (!parse_int(std::string_view(v), o.timeout_ms) || o.timeout_ms <= 0) {
        error = "Invalid value '" + v + "' for --timeout";
        return std::nullopt;
      }
    } else if (arg == "--help" || arg == "-h") {
      o.help = true;
      return o;
    } else {
      error = "Unrecognized option: " + args[i];
      return std::nullopt;
    }
  }

  if (o.bootstrap_server.empty()) {
    error = "Missing required argument \"[bootstrap-server]\"";
    return std::nullopt;
  }
  std::string host;
  int port = 0;
  for (const auto& server : split(o.bootstrap_server, ',')) {
    if (!parse_host_port(server, host, port)) {
      error = "Invalid --bootstrap-server '" + o.bootstrap_server + "': expected HOST:PORT";
      return std::nullopt;
    }
  }
  if (commands.size() != 1) {
    error =
        "Command must include exactly one action: --list, --describe, --delete, "
        "--reset-offsets, --delete-offsets";
    return std::nullopt;
  }
  o.command = commands[0];
  bool has_groups = !o.groups.empty() || o.all_groups;
  if (!o.groups.empty() && o.all_groups) {
    error = "Option --group cannot be used with --all-groups";
    return std::nullopt;
  }
  if (o.command != Command::ResetOffsets && o.command != Command::DeleteOffsets &&
      (!o.topics.empty() || o.all_topics)) {
    error =
        "Option --topic and --all-topics are only valid with --reset-offsets or "
        "--delete-offsets";
    return std::nullopt;
  }
  if (o.command != Command::ResetOffsets && (!specs.empty() || o.dry_run || o.execute)) {
    error =
        "Reset options (--to-*, --shift-by, --dry-run, --execute) are only valid with "
        "--reset-offsets";
    return std::nullopt;
  }
  if (o.command != Command::Describe && (o.members || o.verbose)) {
    error = "Option --members and --verbose are only valid with --describe";
    return std::nullopt;
  }
  if (o.command != Command::Describe && o.command != Command::List && o.state) {
    error = "Option --state is only valid with --describe or --list";
    return std::nullopt;
  }
  switch (o.command) {
    case Command::List:
      if (has_groups) {
        error = "Option --list does not take --group or --all-groups";
        return std::nullopt;
      }
      break;
    case Command::Describe:
      if (!has_groups) {
        error = "Option --describe takes one of these options: --all-groups, --group";
        return std::nullopt;
      }
      if (state_value_given) {
        error = "Option --describe --state takes no value";
        return std::nullopt;
      }
      if (o.members && o.state) {
        error =
            "Option --describe takes at most one of these options: --members, --offsets, "
            "--state";
        return std::nullopt;
      }
      break;
    case Command::Delete:
      if (!has_groups) {
        error = "Option --delete takes one of these options: --all-groups, --group";
        return std::nullopt;
      }
      break;
    case Command::ResetOffsets:
      if (!has_groups) {
        error = "Option --reset-offsets takes one of these options: --all-groups, --group";
        return std::nullopt;
      }
      if (o.topics.empty() == !o.all_topics) {
        error = "Option --reset-offsets takes exactly one of these scopes: --all-topics, --topic";
        return std::nullopt;
      }
      if (specs.size() != 1) {
        error =
            "Option --reset-offsets takes exactly one of these scenarios: --to-earliest, "
            "--to-latest, --to-offset, --to-datetime, --shift-by";
        return std::nullopt;
      }
      o.reset = specs[0];
      if (o.dry_run && o.execute) {
        error = "Option --dry-run cannot be used with --execute";
        return std::nullopt;
      }
      break;
    case Command::DeleteOffsets:
      if (o.groups.size() != 1 || o.all_groups) {
        error = "Option --delete-offsets takes exactly one --group";
        return std::nullopt;
      }
      if (o.topics.empty() || o.all_topics) {
        error = "Option --delete-offsets takes one or more --topic";
        return std::nullopt;
      }
      break;
    case Command::None:
      break;
  }
  return o;
}

}  // namespace runnel::tools::groups
