#!/usr/bin/env node
// The SDK warns on every run under Node 20 about its own future support policy; ecs-ha pins the
// SDK versions it ships with, so that warning says nothing to our users. Set it to "false" to see it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { main } = await import('../dist/cli.js');
await main(process.argv);
