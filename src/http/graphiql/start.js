// Starts GraphiQL on /graphql: queries and mutations over HTTP (with the
// session cookie, same origin), subscriptions over graphql-transport-ws.
(function () {
  'use strict';
  var url = new URL('/graphql', window.location.href);
  var subscriptionUrl = url.href.replace(/^http/, 'ws');
  var fetcher = GraphiQL.createFetcher({
    url: url.href,
    subscriptionUrl: subscriptionUrl,
    // The server answers application/json; no multipart incremental delivery.
    enableIncrementalDelivery: false,
  });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, { fetcher: fetcher }));
})();
