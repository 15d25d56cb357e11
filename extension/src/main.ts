/*
 * Forkall extension: activation. Everything is registered here and pushed
 * onto context.subscriptions. The extension never loads native code: the
 * adapter runs as its own process (adapterProcess.ts).
 */
import * as vscode from 'vscode';
import { AdapterFactory } from './adapterFactory';
import { ConfigProvider } from './configProvider';
import { ForkCommand, type ForkCommandArgs } from './forkAllHere';
import { Log } from './logging';
import { LwpStore } from './lwpStore';
import { LwpTreeProvider } from './lwpView';
import { attachToProcess, pickProcess } from './pickProcess';
import { StackPanel } from './stackPanel';

/** What activate() returns: for tests and other extensions. */
export interface ForkallApi {
	adapterPid(): number | undefined;
	lwps(): LwpStore;
	stackPicture(): StackPanel['current'];
}

export function activate(context: vscode.ExtensionContext): ForkallApi {
	const log = new Log();
	const factory = new AdapterFactory(context.extensionPath, log);
	const store = new LwpStore(log);
	const tree = new LwpTreeProvider(store);
	const panel = new StackPanel(context.extensionUri, store);
	const fork = new ForkCommand(store, log);
	fork.track(context);
	const view = vscode.window.createTreeView('forkall.lwps', { treeDataProvider: tree, showCollapseAll: true });
	tree.attach(view);

	context.subscriptions.push(
		log, factory, store, tree, panel, view,
		vscode.debug.registerDebugAdapterDescriptorFactory('forkall', factory),
		vscode.debug.registerDebugConfigurationProvider('forkall', new ConfigProvider()),
		vscode.debug.registerDebugAdapterTrackerFactory('forkall', store),
		vscode.debug.onDidStartDebugSession((s) => {
			if (s.type === 'forkall') factory.sessionStarted(s);
		}),
		vscode.debug.onDidTerminateDebugSession((s) => {
			if (s.type === 'forkall') factory.sessionEnded(s);
		}),
		vscode.commands.registerCommand('forkall.pickProcess', () => pickProcess()),
		vscode.commands.registerCommand('forkall.attach', () => attachToProcess()),
		vscode.commands.registerCommand('forkall.forkAllThreads', (args?: ForkCommandArgs) => fork.run(args)),
		vscode.commands.registerCommand('forkall.showLwpView', async () => {
			panel.show();
			if (vscode.debug.activeDebugSession?.type === 'forkall') {
				await vscode.commands.executeCommand('forkall.lwps.focus', { preserveFocus: true }).then(undefined, () => undefined);
			}
			return panel.current;
		}),
		vscode.commands.registerCommand('forkall.lwps.refresh', async () => {
			const st = store.focused();
			if (st) await store.refresh(st);
		}),
		vscode.commands.registerCommand('forkall.showAdapterLog', () => log.channel.show()),
	);
	log.info('extension', `activated (${vscode.env.appName} ${vscode.version}, node ${process.version}, ${process.execPath})`);
	return {
		adapterPid: () => factory.adapter.pid,
		lwps: () => store,
		stackPicture: () => panel.current,
	};
}

export function deactivate(): void {
	// context.subscriptions stop the adapter.
}
