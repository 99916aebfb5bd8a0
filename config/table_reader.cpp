// SPDX-License-Identifier: Apache-2.0
#include "config/table_reader.hpp"

#include <fmt/format.h>

namespace screener::config {

namespace {
const toml::table& empty_table() {
  static const toml::table empty;
  return empty;
}

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date or time";
  }
}
}  // namespace

ConfigError::ConfigError(std::string file, std::uint32_t line, std::uint32_t column, std::string key,
                         std::string problem)
    : std::runtime_error(fmt::format("{}:{}:{}: {}: {}", file, line, column, key, problem)),
      file_(std::move(file)),
      line_(line),
      column_(column),
      key_(std::move(key)) {}

TableReader::TableReader(const toml::table& table, std::string path, std::string file)
    : table_(&table), path_(std::move(path)), file_(std::move(file)) {}

std::string TableReader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

void TableReader::fail_at(const toml::source_region& where, std::string_view key, const std::string& problem) const {
  throw ConfigError(file_, where.begin.line, where.begin.column, key_path(key), problem);
}

void TableReader::fail(std::string_view key, const std::string& problem) const {
  if (const toml::node* node = table_->get(key)) fail_at(node->source(), key, problem);
  fail_at(table_->source(), key, problem);
}

std::string TableReader::string(std::string_view key, std::string fallback) {
  read_.emplace(key);
  const toml::node* node = table_->get(key);
  if (node == nullptr) return fallback;
  if (!node->is_string()) fail_at(node->source(), key, "expected a string, got " + type_name(*node));
  return std::string(node->as_string()->get());
}

bool TableReader::boolean(std::string_view key, bool fallback) {
  read_.emplace(key);
  const toml::node* node = table_->get(key);
  if (node == nullptr) return fallback;
  if (!node->is_boolean()) fail_at(node->source(), key, "expected true or false, got " + type_name(*node));
  return node->as_boolean()->get();
}

std::int64_t TableReader::integer(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
  read_.emplace(key);
  const toml::node* node = table_->get(key);
  if (node == nullptr) return fallback;
  if (!node->is_integer()) fail_at(node->source(), key, "expected an integer, got " + type_name(*node));
  const std::int64_t value = node->as_integer()->get();
  if (value < min || value > max)
    fail_at(node->source(), key, fmt::format("expected an integer in [{}, {}], got {}", min, max, value));
  return value;
}

std::vector<std::string> TableReader::strings(std::string_view key, std::vector<std::string> fallback) {
  read_.emplace(key);
  const toml::node* node = table_->get(key);
  if (node == nullptr) return fallback;
  const toml::array* array = node->as_array();
  if (array == nullptr) fail_at(node->source(), key, "expected an array of strings, got " + type_name(*node));
  std::vector<std::string> values;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    if (!element.is_string())
      fail_at(element.source(), key, fmt::format("element {} must be a string, got {}", i, type_name(element)));
    values.emplace_back(element.as_string()->get());
  }
  return values;
}

TableReader TableReader::table(std::string_view key) {
  read_.emplace(key);
  const toml::node* node = table_->get(key);
  if (node == nullptr) return TableReader(empty_table(), key_path(key), file_);
  if (!node->is_table()) fail_at(node->source(), key, "expected a table, got " + type_name(*node));
  return TableReader(*node->as_table(), key_path(key), file_);
}

std::vector<std::string> TableReader::keys() const {
  std::vector<std::string> keys;
  for (const auto& [key, node] : *table_) keys.emplace_back(key.str());
  return keys;
}

void TableReader::reject_unknown_keys() const {
  for (const auto& [key, node] : *table_) {
    if (!read_.contains(key.str()))
      fail_at(node.source(), key.str(), "unknown key (misspelt, or not valid in this table)");
  }
}

}  // namespace screener::config
