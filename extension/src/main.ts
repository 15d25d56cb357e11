/*
 * Forkall extension: activation. Everything is registered here and pushed
 * onto context.subscriptions. The extension never loads native code: the
 * adapter runs as its own process (adapterProcess.ts).
 */
import * as vscode from 'vscode';
import { AdapterFactory } from './adapterFactory';
import { ConfigProvider } from './configProvider';
import { ForkCommand, type ForkCommandArgs } from './forkAllHere';
import { ChildFocus } from './childFocus';
import { ThreadControl } from './threadControl';
import { DeadThreads } from './deadThreads';
import { Log, type ShownMessage } from './logging';
import { LwpStore } from './lwpStore';
import { LwpTreeProvider, type Node as LwpNode } from './lwpView';
import { MemoryPanel } from './memoryPanel';
import { parseAddress } from './memoryModel';
import type { LwpRow } from './lwpModel';
import { attachToProcess, currentProcessPicker, pickProcess, type ProcessPickerState } from './pickProcess';
import { StackPanel } from './stackPanel';
import { CheckpointStore, type CheckpointArg } from './checkpoints';

/** What activate() returns: for tests and other extensions. */
export interface ForkallApi {
	adapterPid(): number | undefined;
	lwps(): LwpStore;
	stackPicture(): StackPanel['current'];
	/** The "Forkall: LWPs" view's data provider. */
	lwpTree(): LwpTreeProvider;
	/** The messages the extension showed (errors, warnings, information), oldest first. */
	messages(): readonly ShownMessage[];
	/** The process picker while it is open. */
	processPicker(): ProcessPickerState | undefined;
	/** The "Forkall: Checkpoints" view's data provider (rows() is what it shows). */
	checkpoints(): CheckpointStore;
}

export function activate(context: vscode.ExtensionContext): ForkallApi {
	const log = new Log();
	const factory = new AdapterFactory(context.extensionPath, log);
	const store = new LwpStore(log);
	const tree = new LwpTreeProvider(store);
	const panel = new StackPanel(context.extensionUri, store);
	const memory = new MemoryPanel(context.extensionUri);
	const forkallSession = (): vscode.DebugSession | undefined => {
		const s = vscode.debug.activeDebugSession;
		if (s?.type === 'forkall') return s;
		void vscode.window.showErrorMessage('Forkall: no Forkall debug session is active');
		return undefined;
	};
	const fork = new ForkCommand(store, log);
	fork.track(context);
	new ThreadControl().register(context);
	new ChildFocus(log).register(context);
	new DeadThreads().register(context);
	const view = vscode.window.createTreeView('forkall.lwps', { treeDataProvider: tree, showCollapseAll: true, canSelectMany: true });
	tree.attach(view);
	const checkpoints = new CheckpointStore(log);
	const ckptView = vscode.window.createTreeView('forkall.checkpoints', { treeDataProvider: checkpoints });
	checkpoints.attach(ckptView);

	context.subscriptions.push(
		log,
		factory,
		store,
		tree,
		panel,
		view,
		vscode.debug.registerDebugAdapterDescriptorFactory('forkall', factory),
		vscode.debug.registerDebugConfigurationProvider('forkall', new ConfigProvider(log)),
		vscode.debug.registerDebugAdapterTrackerFactory('forkall', store),
		checkpoints,
		ckptView,
		vscode.debug.registerDebugAdapterTrackerFactory('forkall', checkpoints),
		vscode.commands.registerCommand('forkall.saveCheckpoint', (a?: CheckpointArg) => checkpoints.save(a)),
		vscode.commands.registerCommand('forkall.restoreCheckpoint', (a?: CheckpointArg) => checkpoints.restore(a)),
		vscode.commands.registerCommand('forkall.checkpoints.restore', (a?: CheckpointArg) => checkpoints.restore(a, false)),
		vscode.commands.registerCommand('forkall.checkpoints.restoreKeep', (a?: CheckpointArg) => checkpoints.restore(a, true)),
		vscode.commands.registerCommand('forkall.checkpoints.delete', (a?: CheckpointArg) => checkpoints.delete(a)),
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
		vscode.commands.registerCommand('forkall.lwps.freeze', (n?: LwpNode, sel?: readonly LwpNode[]) => tree.freeze(true, n, sel)),
		vscode.commands.registerCommand('forkall.lwps.thaw', (n?: LwpNode, sel?: readonly LwpNode[]) => tree.freeze(false, n, sel)),
		vscode.commands.registerCommand('forkall.showAdapterLog', () => log.channel.show()),
		/* memory: an address, a variable's memory reference, a thread's stack from SP */
		vscode.commands.registerCommand('forkall.showMemory', async (address?: string, count?: number) => {
			const s = forkallSession();
			if (!s) return null;
			const text =
				address ??
				(await vscode.window.showInputBox({
					prompt: 'Address to show (hex, e.g. 0x7ffc9e1c2a10)',
					validateInput: (v) => (parseAddress(v) === null ? 'not an address' : null),
				}));
			const a = text === undefined ? null : parseAddress(text);
			return a === null ? null : memory.show(s, a, count);
		}),
		vscode.commands.registerCommand(
			'forkall.showVariableMemory',
			async (arg?: { variable?: { name?: string; memoryReference?: string } }) => {
				const s = forkallSession();
				const ref = arg?.variable?.memoryReference;
				const a = ref ? parseAddress(ref) : null;
				if (!s || a === null) return null;
				return memory.show(s, a, 256, `${arg?.variable?.name ?? ''} (0x${a.toString(16)})`);
			},
		),
		vscode.commands.registerCommand('forkall.lwps.showStackMemory', async (node?: { row?: LwpRow }) => {
			const s = forkallSession();
			const row = node?.row;
			if (!s || !row) return null;
			const sp = BigInt(row.sp);
			const high = row.stack && row.spInStack ? BigInt(row.stack.high) : sp + 512n;
			const count = Number(high - sp > 4096n ? 4096n : high - sp);
			return memory.show(s, sp, count || 256, `stack of ${row.tid} "${row.name}" from SP`);
		}),
		memory,
	);
	/* the view follows the program: read again after every stop */
	context.subscriptions.push(store.onDidChange(() => void memory.refresh()));
	log.info('extension', `activated (${vscode.env.appName} ${vscode.version}, node ${process.version}, ${process.execPath})`);
	return {
		adapterPid: () => factory.adapter.pid,
		lwps: () => store,
		stackPicture: () => panel.current,
		lwpTree: () => tree,
		messages: () => log.shown,
		processPicker: currentProcessPicker,
		checkpoints: () => checkpoints,
	};
}

export function deactivate(): void {
	// context.subscriptions stop the adapter.
}
