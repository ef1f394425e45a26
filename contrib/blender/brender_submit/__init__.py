"""brender: submit the open .blend to a brender render farm, and follow the job from Blender.

Install: Edit > Preferences > Add-ons > Install... and pick this folder zipped, or copy the
folder `brender_submit` into Blender's `scripts/addons/`. In the add-on's preferences give the
farm's server URL (http://farm:9999) and a token with the submit or admin role
(`brender server token create NAME --role submit` on the server machine). The token is kept in
Blender's preferences, never in the .blend file.

The panel is in Properties > Render > brender. Submit saves the file and sends the job through the
farm's API; the panel then shows the job's progress until it ends. Only Blender's own Python is
used (urllib, json): nothing to install.
"""

import json
import os
import ssl
import urllib.error
import urllib.request

import bpy

bl_info = {
    "name": "brender: submit to a render farm",
    "author": "brender",
    "version": (0, 2, 0),
    "blender": (3, 4, 0),
    "location": "Properties > Render > brender",
    "description": "Submit the open file to a brender render farm and follow the job",
    "category": "Render",
}

FORMATS = {
    "PNG", "JPEG", "OPEN_EXR", "OPEN_EXR_MULTILAYER", "TIFF", "BMP", "TARGA", "TARGA_RAW", "HDR", "WEBP", "JPEG2000", "DPX",
    "CINEON", "IRIS",
}


class SubmitError(Exception):
    """What went wrong, said for a person."""


def preferences(context):
    return context.preferences.addons[__name__].preferences


def call(server, token, request, timeout=15):
    """One call of the farm's JSON API; returns its answer or raises SubmitError with the server's message."""
    body = json.dumps(request).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    url = server.rstrip("/") + "/api"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=timeout,
                                    context=ssl.create_default_context()) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:
        try:
            message = json.load(error)["error"]["message"]
        except Exception:
            message = "the server answered %d" % error.code
        raise SubmitError(message)
    except (urllib.error.URLError, OSError) as error:
        raise SubmitError("cannot reach the brender server at %s (%s); check the server URL in the add-on's preferences" % (server, getattr(error, "reason", error)))


def job_values(scene, settings, path):
    """The job a submit sends: the saved file, the frames, chunk, priority, tags, format and scene."""
    start, end = (scene.frame_start, scene.frame_end) if settings.use_scene_range else (settings.frame_start, settings.frame_end)
    if end < start:
        raise SubmitError("the last frame (%d) is before the first (%d)" % (end, start))
    values = {
        "file": path,
        "frames": "%d-%d" % (start, end) if end > start else str(start),
        "chunk": settings.chunk,
        "priority": settings.priority,
        "name": settings.job_name.strip() or "%s %s" % (os.path.splitext(os.path.basename(path))[0], scene.name),
        "scene": scene.name,
        "settings_from": "the brender add-on in Blender %s" % bpy.app.version_string,
    }
    file_format = scene.render.image_settings.file_format
    if file_format in FORMATS:
        values["format"] = file_format
    tags = [tag.strip() for tag in settings.tags.split(",") if tag.strip()]
    if tags:
        values["tags"] = tags
    if settings.cold:
        values["cold"] = True
    return values


class BrenderPreferences(bpy.types.AddonPreferences):
    bl_idname = __name__

    server: bpy.props.StringProperty(name="Server", description="The brender server's URL", default="http://127.0.0.1:9999")
    token: bpy.props.StringProperty(name="Token", description="A submit or admin token of the farm", subtype="PASSWORD")

    def draw(self, context):
        self.layout.prop(self, "server")
        self.layout.prop(self, "token")


class BrenderSettings(bpy.types.PropertyGroup):
    use_scene_range: bpy.props.BoolProperty(name="Scene's frame range", default=True)
    frame_start: bpy.props.IntProperty(name="First", default=1)
    frame_end: bpy.props.IntProperty(name="Last", default=250)
    chunk: bpy.props.IntProperty(name="Chunk", description="Frames per task", default=1, min=1, max=100000)
    priority: bpy.props.IntProperty(name="Priority", description="0 to 100, higher first", default=50, min=0, max=100)
    tags: bpy.props.StringProperty(name="Tags", description="Tags a client needs to take the job, comma separated")
    job_name: bpy.props.StringProperty(name="Name", description="The job's name (default: the file and scene)")
    cold: bpy.props.BoolProperty(name="Cold", description="Start Blender afresh for every task (scenes that keep state between frames)")
    # The last job submitted from this file, and what the farm said of it.
    job_id: bpy.props.IntProperty(default=0)
    job_status: bpy.props.StringProperty(default="")
    frames_done: bpy.props.IntProperty(default=0)
    frames_total: bpy.props.IntProperty(default=0)


def follow():
    """A timer: reads the last job's progress every two seconds until it ends."""
    scene = bpy.context.scene
    if scene is None:
        return None
    settings = scene.brender
    if not settings.job_id:
        return None
    prefs = preferences(bpy.context)
    try:
        answer = call(prefs.server, prefs.token, {"item": "job", "action": "read", "filters": {"id": settings.job_id}}, timeout=5)
        job = answer["items"][0]
    except (SubmitError, IndexError, KeyError):
        return 5.0
    settings.job_status = job["status"]
    settings.frames_done = job["frames_done"]
    settings.frames_total = job["frames_total"]
    for area in bpy.context.screen.areas if bpy.context.screen else []:
        if area.type == "PROPERTIES":
            area.tag_redraw()
    return None if job["status"] in ("completed", "failed", "canceled") else 2.0


class BRENDER_OT_submit(bpy.types.Operator):
    """Save the file and submit it to the brender farm"""

    bl_idname = "brender.submit"
    bl_label = "Submit to brender"

    def execute(self, context):
        prefs = preferences(context)
        scene = context.scene
        settings = scene.brender
        if not bpy.data.filepath:
            self.report({"ERROR"}, "save the file first: the farm renders it from where it is saved (shared storage)")
            return {"CANCELLED"}
        bpy.ops.wm.save_mainfile()
        try:
            values = job_values(scene, settings, bpy.path.abspath(bpy.data.filepath))
            answer = call(prefs.server, prefs.token, {"item": "job", "action": "create", "values": values})
        except SubmitError as error:
            self.report({"ERROR"}, "brender: %s" % error)
            return {"CANCELLED"}
        job = answer["items"][0]
        settings.job_id = job["id"]
        settings.job_status = job["status"]
        settings.frames_done = job["frames_done"]
        settings.frames_total = job["frames_total"]
        self.report({"INFO"}, "brender: job %d submitted, %d frames" % (job["id"], job["frames_total"]))
        if not bpy.app.timers.is_registered(follow):
            bpy.app.timers.register(follow, first_interval=2.0)
        return {"FINISHED"}


class RENDER_PT_brender(bpy.types.Panel):
    bl_label = "brender"
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "render"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.brender
        layout.label(text="Farm: %s" % preferences(context).server)
        layout.prop(settings, "use_scene_range")
        row = layout.row(align=True)
        row.enabled = not settings.use_scene_range
        row.prop(settings, "frame_start")
        row.prop(settings, "frame_end")
        layout.prop(settings, "chunk")
        layout.prop(settings, "priority")
        layout.prop(settings, "tags")
        layout.prop(settings, "job_name")
        layout.prop(settings, "cold")
        layout.operator(BRENDER_OT_submit.bl_idname, icon="RENDER_ANIMATION")
        if settings.job_id:
            box = layout.box()
            box.label(text="Job %d: %s" % (settings.job_id, settings.job_status))
            if settings.frames_total:
                text = "%d of %d frames" % (settings.frames_done, settings.frames_total)
                if hasattr(box, "progress"):  # Blender 4.0 and newer
                    box.progress(factor=settings.frames_done / settings.frames_total, text=text)
                else:
                    box.label(text=text)


classes = (BrenderPreferences, BrenderSettings, BRENDER_OT_submit, RENDER_PT_brender)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.types.Scene.brender = bpy.props.PointerProperty(type=BrenderSettings)


def unregister():
    if bpy.app.timers.is_registered(follow):
        bpy.app.timers.unregister(follow)
    del bpy.types.Scene.brender
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
