'use strict';
// LEAKS through dataloader (pinned in package.json): a DataLoader is a per-request cache
// (its README: "create a new DataLoader per request"), but this app makes one at startup and
// loads a new key on every request, so its cache keeps every user ever loaded.
//
//   shared        one DataLoader for the whole process
//   per-request   a DataLoader per request: no leak
const DataLoader = require('dataloader');
const { serve, mode, payload } = require('../common');

const which = mode(['shared', 'per-request']);

function batchLoadUsers(ids) {
  return Promise.resolve(ids.map((id) => ({ id, name: 'user ' + id, history: payload(id) })));
}

const userLoader = new DataLoader(batchLoadUsers);

serve(function handle(req, res, seq) {
  const loader = which === 'shared' ? userLoader : new DataLoader(batchLoadUsers);
  loader.load(seq).then((user) => user.name);
});
