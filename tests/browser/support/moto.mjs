// A real Cognito-protocol server for the browser tests: moto_server (PyPI
// moto[server]) on a free port, and the few user-pool calls the tests make.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, connect } from "node:net";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

/// moto_server from PATH (`cargo xtask test` puts the project's venv there),
/// else from the checkout's target/py/bin.
function findMotoServer() {
  const onPath = (process.env.PATH || "").split(delimiter).map((dir) => join(dir, "moto_server"));
  const workspace = fileURLToPath(new URL("../../../target/py/bin/moto_server", import.meta.url));
  const found = [...onPath, workspace].find((p) => existsSync(p));
  if (!found) throw new Error("moto_server not found on PATH or in target/py/bin: run `cargo xtask test`, which installs moto[server]");
  return found;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function answers(port) {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => { socket.destroy(); resolve(true); });
    socket.once("error", () => resolve(false));
  });
}

/// Starts moto_server; `stop()` ends it.
export async function startMoto({ region = "eu-west-3" } = {}) {
  const port = await freePort();
  const child = spawn(findMotoServer(), ["-H", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => { stderr += chunk; });
  const deadline = Date.now() + 30_000;
  while (!(await answers(port))) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}:\n${stderr}`);
    if (Date.now() > deadline) throw new Error(`moto_server did not answer on port ${port} within 30 s:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    region,
    /// One Cognito API call; admin calls carry a (not checked) SigV4
    /// credential scope so moto files them under `region`.
    async cognito(action, body) {
      const response = await fetch(endpoint + "/", {
        method: "POST",
        headers: {
          "content-type": "application/x-amz-json-1.1",
          "x-amz-target": `AWSCognitoIdentityProviderService.${action}`,
          authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${region}/cognito-idp/aws4_request, SignedHeaders=host, Signature=00`,
        },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${action}: HTTP ${response.status} ${text}`);
      return text ? JSON.parse(text) : {};
    },
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)));
    },
  };
}

/// A user pool as infra/template.yaml makes it (email user names, the org and
/// driver custom attributes, the dispatcher and driver groups) with a web
/// client allowing USER_PASSWORD_AUTH and refresh. Returns what
/// `doorstep serve --cognito-*` needs.
export async function createUserPool(moto) {
  const { UserPool } = await moto.cognito("CreateUserPool", {
    PoolName: "doorstep-users",
    UsernameAttributes: ["email"],
    Schema: [
      { Name: "org", AttributeDataType: "String", Mutable: true },
      { Name: "driver", AttributeDataType: "String", Mutable: true },
    ],
  });
  const { UserPoolClient } = await moto.cognito("CreateUserPoolClient", {
    UserPoolId: UserPool.Id,
    ClientName: "web",
    GenerateSecret: false,
    ExplicitAuthFlows: ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
  });
  for (const group of ["dispatcher", "driver"]) {
    await moto.cognito("CreateGroup", { UserPoolId: UserPool.Id, GroupName: group });
  }
  const issuer = `https://cognito-idp.${moto.region}.amazonaws.com/${UserPool.Id}`;
  return {
    poolId: UserPool.Id,
    clientId: UserPoolClient.ClientId,
    issuer,
    jwksUrl: `${moto.endpoint}/${UserPool.Id}/.well-known/jwks.json`,
    /// `doorstep serve` flags for this pool.
    serveArgs: [
      "--cognito-issuer", issuer,
      "--cognito-client-id", UserPoolClient.ClientId,
      "--cognito-jwks-url", `${moto.endpoint}/${UserPool.Id}/.well-known/jwks.json`,
      "--cognito-endpoint", `${moto.endpoint}/`,
    ],
  };
}

/// A user in `group` with `custom:org` (and `custom:driver`). With
/// `permanentPassword` the account is confirmed; otherwise the first
/// sign-in with `temporaryPassword` must choose a new one.
export async function createUser(moto, pool, { email, org, group, driver, temporaryPassword = "Temporary-pass-1", permanentPassword }) {
  const attributes = [{ Name: "email", Value: email }, { Name: "custom:org", Value: org }];
  if (driver) attributes.push({ Name: "custom:driver", Value: driver });
  await moto.cognito("AdminCreateUser", {
    UserPoolId: pool.poolId,
    Username: email,
    UserAttributes: attributes,
    TemporaryPassword: temporaryPassword,
    MessageAction: "SUPPRESS",
  });
  await moto.cognito("AdminAddUserToGroup", { UserPoolId: pool.poolId, Username: email, GroupName: group });
  if (permanentPassword) {
    await moto.cognito("AdminSetUserPassword", { UserPoolId: pool.poolId, Username: email, Password: permanentPassword, Permanent: true });
  }
}

/// A JWT's payload (not verified: for assertions only).
export function jwtClaims(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
}
