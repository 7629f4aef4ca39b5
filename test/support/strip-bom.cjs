// CommonJS stand-in for strip-bom 5 (ESM only), which @microsoft/app-manifest requires at load time:
// jest on Node 20 cannot require an ES module. Same behaviour: drop one leading byte order mark.
module.exports = (text) => {
  if (typeof text !== 'string') throw new TypeError(`Expected a string, got ${typeof text}`);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
};
