// Builds the emulated ESP32-P4 firmware image from firmware/ sources when it is missing or stale.
import { ensureFirmwareImage } from '../out/extension/emulator/image.js';

try {
  const image = await ensureFirmwareImage();
  console.log(`emulator firmware: ${image}`);
} catch (e) {
  console.error(`p4jit: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
