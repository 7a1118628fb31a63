// A database of its own on the test instance's MariaDB, with the grants
// scripts/servers.sh gives the application account, and a config naming it:
// { name, config, cleanup() }.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { configPath, sql, uniqueName } from './panel.mjs';

const dbUser = /^db_user\s*=\s*(.*)$/m.exec(readFileSync(configPath, 'utf8'))[1].trim();

export function freshDatabase(prefix) {
  const name = uniqueName(prefix).replace(/-/g, '_');
  sql(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
       GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP, LOCK TABLES ON \`${name}\`.* TO '${dbUser}'@'localhost'`);
  const dir = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
  const config = path.join(dir, 'provisioning.conf');
  writeFileSync(config, readFileSync(configPath, 'utf8').replace(/^db_name\s*=.*$/m, `db_name = ${name}`));
  return {
    name,
    config,
    cleanup() {
      sql(`DROP DATABASE IF EXISTS \`${name}\``);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
