/*
 * Launch/attach configurations: defaults, checks the adapter would only
 * report later, and the process picker when an attach has no pid.
 */
import * as vscode from 'vscode';
import type { Log } from './logging';
import { pickProcess } from './pickProcess';

export class ConfigProvider implements vscode.DebugConfigurationProvider {
	constructor(private readonly log: Log) {}

	resolveDebugConfiguration(
		_folder: vscode.WorkspaceFolder | undefined,
		config: vscode.DebugConfiguration,
	): vscode.ProviderResult<vscode.DebugConfiguration> {
		// F5 without a launch.json: open one with the initial configurations.
		if (!config.type && !config.request && !config.name) return null;
		config.type = 'forkall';
		config.request ??= 'launch';
		config.name ??= config.request === 'attach' ? 'Forkall: Attach' : 'Forkall: Launch';
		return config;
	}

	async resolveDebugConfigurationWithSubstitutedVariables(
		_folder: vscode.WorkspaceFolder | undefined,
		config: vscode.DebugConfiguration,
	): Promise<vscode.DebugConfiguration | null | undefined> {
		// A forked child's session (startDebugging from the adapter): pass it through untouched.
		if (config.__forkallChild !== undefined) return config;
		if (config.request === 'launch') {
			if (typeof config.program !== 'string' || config.program.trim() === '') {
				void this.log.showError('Forkall: the launch configuration needs "program" (the executable to debug).');
				return null;
			}
			return config;
		}
		if (config.request === 'attach') {
			if (config.pid === undefined || config.pid === '') {
				const pid = await pickProcess();
				if (!pid) return undefined; // cancelled
				config.pid = pid;
			}
			if (typeof config.pid === 'string' && /^\d+$/.test(config.pid.trim())) config.pid = Number(config.pid.trim());
			if (typeof config.pid !== 'number' || !Number.isInteger(config.pid) || config.pid <= 0) {
				void this.log.showError(`Forkall: "pid" must be a process id, got ${JSON.stringify(config.pid)}.`);
				return null;
			}
			return config;
		}
		void this.log.showError(`Forkall: "request" must be "launch" or "attach", got ${JSON.stringify(config.request)}.`);
		return null;
	}
}
