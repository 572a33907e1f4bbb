# shellcheck shell=bash
# Source this file (". scripts/ensure-node.sh"): when the node on PATH is older
# than 22.19 it installs node@24 from the npm registry into a cache directory
# (once) and puts it first on PATH. Safe to source repeatedly.

_deploy_bot_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e '
    const [maj, min] = process.versions.node.split(".").map(Number);
    process.exit(maj > 22 || (maj === 22 && min >= 19) ? 0 : 1);
  ' 2>/dev/null
}

if ! _deploy_bot_node_ok; then
  _deploy_bot_node_dir="${DEPLOY_BOT_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/deploy-bot/node24}"
  if [ ! -x "$_deploy_bot_node_dir/node_modules/.bin/node" ]; then
    echo "ensure-node: node $(node --version 2>/dev/null || echo 'missing') is older than 22.19; installing node@24 into $_deploy_bot_node_dir" >&2
    mkdir -p "$_deploy_bot_node_dir"
    npm install --silent --no-audit --no-fund --prefix "$_deploy_bot_node_dir" node@24 >&2 || {
      echo "ensure-node: could not install node@24 from the npm registry" >&2
      return 1 2>/dev/null || exit 1
    }
  fi
  PATH="$_deploy_bot_node_dir/node_modules/.bin:$PATH"
  export PATH
  hash -r 2>/dev/null || true
  unset _deploy_bot_node_dir
fi

if ! _deploy_bot_node_ok; then
  echo "ensure-node: node on PATH is still older than 22.19 ($(node --version 2>/dev/null))" >&2
  unset -f _deploy_bot_node_ok
  return 1 2>/dev/null || exit 1
fi
unset -f _deploy_bot_node_ok
