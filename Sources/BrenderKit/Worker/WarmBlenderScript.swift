/// The Python script a warm Blender runs (`blender -b FILE --python SCRIPT`): it reads one JSON
/// request per line from standard input and renders it with the file already loaded.
///
/// A request is `{"task": ID, "scene": NAME or null, "format": "PNG", "frames": [[FRAME, PATH],
/// ...]}`; every frame's path is worked out by the worker (``BlenderInvocation``), so Blender
/// writes exactly the files the cold path would. Around each task the script prints
/// `BRENDER-WARM begin TASK`, then `BRENDER-WARM done TASK` or `BRENDER-WARM error TASK "why"`,
/// flushed at once; Blender itself prints its `Saved:` and `Error:` lines as on the cold path.
/// Cycles keeps its persistent data (the scene's BVH, textures) between frames. On a slot pinned
/// to a GPU each task's log gets the ``BlenderDeviceCheck`` line, and a task Cycles would render
/// on the CPU fails before it renders.
enum WarmBlenderScript {
    static let source =
        BlenderDeviceCheck.function + #"""

            import bpy, json, sys, traceback

            def say(*words):
                print("BRENDER-WARM", *words, flush=True)

            say("ready", bpy.app.version_string)
            devices = {}
            for line in sys.stdin:
                line = line.strip()
                if not line:
                    continue
                try:
                    request = json.loads(line)
                    task = int(request["task"])
                except Exception as error:
                    say("error", 0, json.dumps("unreadable request: %s" % error))
                    continue
                say("begin", task)
                try:
                    scene = bpy.data.scenes[request["scene"]] if request.get("scene") else bpy.context.scene
                    if scene.name not in devices:
                        devices[scene.name] = brender_device_report(scene)
                    if devices[scene.name]:
                        print("BRENDER-DEVICE", devices[scene.name], flush=True)
                        if devices[scene.name].startswith("cpu "):
                            raise RuntimeError("Cycles has no GPU here; nothing rendered")
                    render = scene.render
                    render.image_settings.file_format = request["format"]
                    if render.engine == "CYCLES":
                        render.use_persistent_data = True
                    for frame, path in request["frames"]:
                        scene.frame_set(frame)
                        render.filepath = path
                        bpy.ops.render.render(write_still=True, scene=scene.name)
                    say("done", task)
                except Exception as error:
                    traceback.print_exc()
                    sys.stdout.flush()
                    say("error", task, json.dumps(str(error)))
            """#
}
