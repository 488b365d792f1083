/**
 * Which compiler to hand the session: the p4jit.toolchainPath setting, else the one the ESP-IDF
 * extension uses (its public command espIdf.getToolchainGcc), else undefined so the toolchain
 * module searches ESP-IDF's tools folders and PATH by itself.
 */
import * as vscode from 'vscode';

const ESP_IDF_EXTENSION = 'espressif.esp-idf-extension';

export async function resolveToolchainPath(setting: string, log: (line: string) => void): Promise<string | undefined> {
  if (setting.trim()) return setting.trim();
  if (!vscode.extensions.getExtension(ESP_IDF_EXTENSION)) return undefined;
  try {
    // The ESP-IDF extension may still be starting; do not let it hold up a run for long.
    const answer = await Promise.race([
      vscode.commands.executeCommand<unknown>('espIdf.getToolchainGcc'),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 3000)),
    ]);
    // Only a RISC-V compiler builds for the ESP32-P4 (the ESP-IDF target may be an Xtensa chip).
    if (typeof answer === 'string' && /riscv32-esp-elf-gcc(\.exe)?$/.test(answer)) {
      log(`Using the ESP-IDF extension's compiler: ${answer}`);
      return answer;
    }
  } catch (e) {
    log(`The ESP-IDF extension did not name its compiler (${(e as Error).message}); searching for one.`);
  }
  return undefined;
}
