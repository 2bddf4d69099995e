#include "greenai/rl/agent_file.h"

#include <fstream>
#include <sstream>

#include "greenai/error.h"
#include "greenai/rl/q_learning.h"

namespace greenai::rl {
namespace {

using util::Json;

constexpr const char* kQFormat = "greenai-rl-agent-1";

}  // namespace

Json AgentContext::to_json() const {
  return Json::object()
      .set("training", training)
      .set("env", env)
      .set("energy_penalty", energy_penalty);
}

AgentContext AgentContext::from_json(const Json& json, const std::string& path) {
  const Json* env = json.is_object() ? json.find("env") : nullptr;
  const Json* penalty = json.is_object() ? json.find("energy_penalty") : nullptr;
  if (!env || env->type() != Json::Type::kString || !penalty ||
      penalty->type() != Json::Type::kNumber)
    throw Error("cannot read agent (path=" + path + ")", "no environment recorded");
  AgentContext c;
  c.env = env->string();
  c.energy_penalty = penalty->number();
  if (const Json* training = json.find("training")) c.training = *training;
  return c;
}

void QTable::save(const std::string& path, const AgentContext& context) const {
  std::ofstream f(path);
  f << Json::object()
           .set("format", kQFormat)
           .set("agent", "q")
           .set("context", context.to_json())
           .set("table", to_json())
           .dump()
    << "\n";
  if (!f.flush()) throw Error("cannot write agent (path=" + path + ")", "write failed");
}

LoadedAgent load_agent(const std::string& path, const BinaryAgentLoader& binary) {
  const std::string action = "cannot read agent (path=" + path + ")";
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(action, "no such file or unreadable");
  std::ostringstream text;
  text << f.rdbuf();
  const std::string content = text.str();
  LoadedAgent l;
  Json context;
  if (!content.empty() && content[0] == '{') {
    Json doc;
    try {
      doc = Json::parse(content);
    } catch (const Error& e) {
      throw Error(action, std::string("not valid JSON: ") + e.what());
    }
    const Json* format = doc.find("format");
    const Json* table = doc.find("table");
    if (!format || format->type() != Json::Type::kString || format->string() != kQFormat ||
        !table || !doc.find("context"))
      throw Error(action, "not a greenai agent file", "give a file written by greenai rl train");
    l.agent = std::make_unique<QTable>(QTable::from_json(*table, path));
    context = doc.at("context");
  } else {
    if (!binary)
      throw Error(action, "not a JSON agent: a DQN agent needs LibTorch to be read",
                  "read it with greenai rl eval (greenai-torch)");
    std::string context_text;
    l.agent = binary(path, &context_text);
    try {
      context = Json::parse(context_text);
    } catch (const Error& e) {
      throw Error(action, std::string("its context is not valid JSON: ") + e.what());
    }
  }
  l.context = AgentContext::from_json(context, path);
  l.config = CartPole::config_for(l.context.env, l.context.energy_penalty);
  if (l.agent->actions() != CartPole(l.config).num_actions())
    throw Error(action, "its actions do not match its environment " + l.context.env);
  return l;
}

}  // namespace greenai::rl
