// PostGraphile v5 for benches/compare.sh: the amber preset, as close to v4's defaults as the
// feed comparison needs. Settings come from the environment: DATABASE_URL, PG5_PORT, PG5_POOL.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { jsonPgSmartTags } from "postgraphile/utils";

// quarantined_values has both `id` and `row_id`, which v5's amber naming both calls `rowId`:
// the conflict takes the User, Post and Like types down with it. The feed does not read that
// table (v4 names its columns apart and needs nothing).
const RenameQuarantinedRowId = jsonPgSmartTags({
  version: 1,
  config: { attribute: { "quarantined_values.row_id": { tags: { name: "quarantinedRowId" } } } },
});

export default {
  extends: [PostGraphileAmberPreset],
  plugins: [RenameQuarantinedRowId],
  // v4 offers condition/orderBy on every column; v5 only on indexed ones unless this is off.
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["public"],
      poolConfig: { max: Number(process.env.PG5_POOL ?? 10) },
    }),
  ],
  grafserv: { port: Number(process.env.PG5_PORT ?? 5057), host: "127.0.0.1", graphiql: false },
  grafast: { explain: false },
};
