/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPAH_VERSION_H
#define _ESPAH_VERSION_H
#define ESPAH_VERSION "0.1.0"
#endif
