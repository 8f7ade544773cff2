// Start line shared by the workers of one test: each reports ready, then all spin until the parent says go,
// so their loops really overlap in time.
function waitForGo(metrics) {
  metrics.inc('barrier.ready');
  while (metrics.get('barrier.go') === 0) {
    // spin: the parent sets barrier.go once every worker is ready
  }
}

module.exports = { waitForGo };
