import { LspSession } from '/work/main/test/lsp/lspClient.ts';
const lsp = await LspSession.start(process.argv[2], { settings: { energy: 0.9 } });
console.log('started'); lsp.connection.onNotification('window/logMessage', (p) => console.log('LOG', p));
lsp.until(() => { console.log('statuses', JSON.stringify(lsp.statuses.at(-1))); return undefined; });
await lsp.quiescent(0);
console.log('quiescent');
await lsp.stop();
